// Untimed warm-up before a scenario's timed window: the client does the
// same work on a side queue first, so the timed window measures the steady
// state a long-running application sees, not V8 compiling the client's
// code (a fresh process per run makes that cost land in the window, and it
// grows with the amount of client code, not with the work per message).
// Every client gets the same warm-up; `npm run bench -- --warmup 0` turns
// it off to see cold figures.

import { drive, prefill, type DriveContext } from './drive.js';
import type { Job } from './scenarios.js';

/** The default warm-up: this fraction of the scenario's messages (at least 1000 RPC calls). */
export const WARMUP_FRACTION = 0.25;
export const MIN_RPC_WARMUP = 1000;

/** How many messages (or calls) to warm up with for a job, given the runner's fraction. */
export function warmupCount(kind: Job['kind'], n: number, fraction: number): number {
  if (fraction <= 0) return 0;
  const w = Math.max(1, Math.round(n * fraction));
  return kind === 'rpc' ? Math.max(w, MIN_RPC_WARMUP) : w;
}

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
