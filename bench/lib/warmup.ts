// Untimed warm-up before a scenario's timed window: the client does the
// same work on a side queue first, so the timed window measures the steady
// state a long-running application sees, not V8 compiling the client's
// code (a fresh process per run makes that cost land in the window, and it
// grows with the amount of client code, not with the work per message).
// Every client gets the same warm-up; `npm run bench -- --warmup 0` turns
// it off to see cold figures.

import type { BenchClient } from './adapter.js';
import type { AppProps } from './props.js';
import type { RawConnection } from './raw.js';
import { encodePublishProps } from './raw-extra.js';
import type { Job } from './scenarios.js';
import { CONFIRM_WINDOW, PREFETCH, publishWindow } from './scenarios.js';

/** The default warm-up: this fraction of the scenario's messages (at least 1000 RPC calls). */
export const WARMUP_FRACTION = 0.25;
export const MIN_RPC_WARMUP = 1000;

/** How many messages (or calls) to warm up with for a job, given the runner's fraction. */
export function warmupCount(kind: Job['kind'], n: number, fraction: number): number {
  if (fraction <= 0) return 0;
  const w = Math.max(1, Math.round(n * fraction));
  return kind === 'rpc' ? Math.max(w, MIN_RPC_WARMUP) : w;
}

interface WarmContext {
  job: Job;
  client: BenchClient;
  side: RawConnection;
  payload: Buffer;
  props: AppProps[] | undefined;
  /** The queue name prefix of this run. */
  prefix: string;
  waitDepth(queue: string, n: number, timeoutMs: number): Promise<void>;
  /** For rpc: one call. */
  call: ((b: Buffer) => Promise<unknown>) | null;
}

/** Run `count` messages (or calls) of the job's kind through the client, on a side queue deleted afterwards. */
export async function warmUp(x: WarmContext, count: number): Promise<void> {
  if (count === 0) return;
  const { job, client, side, payload, props } = x;
  if (job.kind === 'rpc') {
    for (let i = 0; i < count; i++) await x.call!(payload);
    return;
  }
  const queue = `${x.prefix}.warmup`;
  await side.queueDeclare(queue, { args: { 'x-expires': 120_000 } });
  try {
    switch (job.kind) {
      case 'publish':
        await client.publish(queue, payload, count, { confirm: false, window: publishWindow(job.size), ...(props ? { props } : {}) });
        await x.waitDepth(queue, count, 120_000);
        break;
      case 'confirm':
        await client.publish(queue, payload, count, { confirm: true, window: CONFIRM_WINDOW, ...(props ? { props } : {}) });
        break;
      case 'consume-ack':
      case 'consume-noack': {
        const tpl = props ? encodePublishProps(1, queue, payload, side.frameMax, props[0]!) : undefined;
        await side.publishMany(queue, payload, count, { confirm: false, window: 0, ...(tpl ? { tpl } : {}) });
        await x.waitDepth(queue, count, 120_000);
        await client.consume(queue, count, { noAck: job.kind === 'consume-noack', prefetch: PREFETCH, readProps: !!props });
        break;
      }
      default:
        throw new Error(`no warm-up for ${job.kind}`);
    }
  } finally {
    await side.queueDelete(queue);
  }
}
