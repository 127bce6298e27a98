// Untimed warm-up before a scenario's timed window: the client does the
// same work on a side queue first, so the timed window measures the steady
// state a long-running application sees, not V8 compiling the client's
// code (a fresh process per run makes that cost land in the window, and it
// grows with the amount of client code, not with the work per message).
// Every client gets the same warm-up; `npm run bench -- --warmup 0` turns
// it off to see cold figures.

import { drive, prefill, type DriveContext } from './drive.js';

/** Run `count` messages (or calls) of the job's kind through the client; queued work goes to `<prefix>.warmup`, deleted afterwards. */
export async function warmUp(x: DriveContext, prefix: string, count: number): Promise<void> {
  if (count === 0) return;
  if (x.job.kind === 'rpc') return drive(x, prefix, count); // the RPC server's queue
  const queue = `${prefix}.warmup`;
  await x.side.queueDeclare(queue, { args: { 'x-expires': 120_000 } });
  try {
    if (x.job.kind === 'consume-ack' || x.job.kind === 'consume-noack') await prefill(x, queue, count);
    await drive(x, queue, count);
  } finally {
    await x.side.queueDelete(queue);
  }
}
