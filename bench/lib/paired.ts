// A variant of our client measured against `ours` in one process: the
// consumer forms take turns over a run's messages in chunks (order ABC CBA),
// each chunk on a queue topped up beforehand, untimed. All forms then see
// the same heap and the same stretch of the broker's pace. The variant's own
// fresh-process rows (`ours-iterator`) differ from `ours` in both, which at
// 16 B moves the ratio more than the forms differ (docs/performance.md,
// run J). The third form is the floor of any `for await` consumer
// (oursAdapter('floor')): what the language's loop itself costs over the
// callback, measured in the same run. Client `<variant>-paired`, e.g.
// `ours-iterator-paired`; its result carries the callback form's and the
// floor's figures in `extra`.

import type { Adapter, BenchClient } from './adapter.js';
import { prefill, type DriveContext } from './drive.js';
import type { RawConnection } from './raw.js';
import type { Job, RunResult } from './scenarios.js';
import { PREFETCH, WARMUP_FRACTION, warmupCount } from './scenarios.js';
import { warmUp } from './warmup.js';

export const PAIRED_SUFFIX = '-paired';
/** Chunks per form: ABC CBA ABC CBA. */
const CHUNKS = 4;

export const isPaired = (client: string): boolean => client.endsWith(PAIRED_SUFFIX);
export const pairedVariant = (client: string): string => client.slice(0, -PAIRED_SUFFIX.length);

export interface PairedContext {
  job: Job;
  side: RawConnection;
  base: Adapter;
  variant: Adapter;
  /** `for await` over the plainest iterator: the variant's floor. */
  floor: Adapter;
  prefix: string;
  payload: Buffer;
  waitDepth(queue: string, n: number, timeoutMs: number): Promise<void>;
  /** Clients to close and queues to delete afterwards (the worker's). */
  clients: BenchClient[];
  queues: string[];
}

interface Form {
  client: BenchClient;
  queue: string;
  cpuS: number;
  wallS: number;
  got: number;
}

/** Run a paired consume job; `cpuPer100k` and `rate` are the variant's, `extra` the base form's and the floor's. */
export async function runPaired(p: PairedContext): Promise<RunResult> {
  const { job, side } = p;
  if (job.kind !== 'consume-ack' && job.kind !== 'consume-noack') throw new Error(`paired runs are consume scenarios, not ${job.kind}`);
  const noAck = job.kind === 'consume-noack';
  const forms: Form[] = [];
  for (const [i, adapter] of [p.base, p.variant, p.floor].entries()) {
    const queue = `${p.prefix}.${i}`; // one length for all forms (see the worker's runPrefix)
    await side.queueDeclare(queue, { args: { 'x-expires': 120_000 } });
    p.queues.push(queue);
    const client = await adapter.connect(job.url);
    p.clients.push(client);
    forms.push({ client, queue, cpuS: 0, wallS: 0, got: 0 });
  }
  const contextOf = (f: Form): DriveContext => ({ job, client: f.client, side, payload: p.payload, props: undefined, call: null, waitDepth: p.waitDepth });
  const warm = job.warmup ?? warmupCount(job.kind, job.n, WARMUP_FRACTION);
  for (const f of forms) await warmUp(contextOf(f), f.queue, warm);

  const chunk = Math.ceil(job.n / CHUNKS);
  const order = [0, 1, 2, 2, 1, 0];
  for (let c = 0; c < forms.length * CHUNKS; c++) {
    const f = forms[order[c % order.length]!]!;
    const n = Math.min(chunk, job.n - f.got);
    if (n <= 0) continue;
    // untimed: enough messages for this chunk (noAck deliveries in flight when a chunk stops are gone)
    await prefill(contextOf(f), f.queue, n);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await f.client.consume(f.queue, n, { noAck, prefetch: PREFETCH, readProps: false });
    f.wallS += (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    f.cpuS += (cpu.user + cpu.system) / 1e6;
    f.got += n;
  }
  const [base, variant, floor] = forms as [Form, Form, Form];
  const per100k = (f: Form): number => (f.cpuS * 100_000) / f.got;
  return {
    ...job,
    ok: true,
    wallS: variant.wallS,
    rate: variant.got / variant.wallS,
    clientCpuS: variant.cpuS,
    cpuPer100k: per100k(variant),
    brokerCpuS: Number.NaN,
    brokerCpuPer100k: Number.NaN,
    otherCores: Number.NaN,
    loadavg1: Number.NaN,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    extra: { baseCpuPer100k: per100k(base), baseRate: base.got / base.wallS, floorCpuPer100k: per100k(floor), floorRate: floor.got / floor.wallS },
  };
}
