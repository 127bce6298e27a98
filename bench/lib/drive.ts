// The work of one classic scenario through the client under test, shared
// by the timed window (bench/worker.ts) and the untimed warm-up
// (bench/lib/warmup.ts), so both do exactly the same thing.

import type { BenchClient } from './adapter.js';
import type { AppProps } from './props.js';
import type { RawConnection } from './raw.js';
import { encodePublishProps } from './raw-extra.js';
import type { Job } from './scenarios.js';
import { CONFIRM_WINDOW, PREFETCH, publishWindow } from './scenarios.js';

export interface DriveContext {
  job: Job;
  client: BenchClient;
  /** The raw side connection: pre-fills consume queues, polls depth. */
  side: RawConnection;
  payload: Buffer;
  props: AppProps[] | undefined;
  waitDepth(queue: string, n: number, timeoutMs: number): Promise<void>;
  /** For rpc: one call. */
  call: ((b: Buffer) => Promise<unknown>) | null;
}

/** Put `n` messages in `queue` with the raw publisher (with properties: the first property set), and wait until the broker holds them. */
export async function prefill(x: DriveContext, queue: string, n: number): Promise<void> {
  const tpl = x.props ? encodePublishProps(1, queue, x.payload, x.side.frameMax, x.props[0]!) : undefined;
  await x.side.publishMany(queue, x.payload, n, { confirm: false, window: 0, ...(tpl ? { tpl } : {}) });
  await x.waitDepth(queue, n, 120_000);
}

/** `n` messages (or calls) of the job's kind on `queue`; `lat[i]` gets each RPC call's round trip (ms) when given. */
export async function drive(x: DriveContext, queue: string, n: number, lat?: Float64Array): Promise<void> {
  const { job, client, payload, props } = x;
  switch (job.kind) {
    case 'publish':
      await client.publish(queue, payload, n, { confirm: false, window: publishWindow(job.size), ...(props ? { props } : {}) });
      await x.waitDepth(queue, n, 120_000);
      break;
    case 'confirm':
      await client.publish(queue, payload, n, { confirm: true, window: CONFIRM_WINDOW, ...(props ? { props } : {}) });
      break;
    case 'consume-ack':
    case 'consume-noack':
      await client.consume(queue, n, { noAck: job.kind === 'consume-noack', prefetch: PREFETCH, readProps: !!props });
      break;
    case 'rpc':
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        await x.call!(payload);
        if (lat !== undefined) lat[i] = performance.now() - s;
      }
      break;
    default:
      throw new Error(`not a classic scenario: ${job.kind}`);
  }
}
