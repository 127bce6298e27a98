// Issue 15's scenarios that are not "N messages through one queue": many
// queues, 1000 channels, fixed-rate latency and the footprint ones. Called by
// bench/worker.ts with the side connection and the client's adapter; each
// returns the RunResult of its timed window, with scenario-specific figures
// in `extra`:
//
//   channels-1000        openMs, openCpuMs: opening 1000 channels at once
//   idle-connections-100 rssKB, heapKB per idle connection
//   idle-channels-1000   rssKB, heapKB per idle channel; openMs
//   connect              connectMs (median of 20), connectCpuMs: connect() → first open channel

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Adapter, BenchClient } from './adapter.js';
import { paced } from './adapter.js';
import { Meter } from './meter.js';
import type { RawConnection } from './raw.js';
import type { Job, RunResult } from './scenarios.js';
import { publishWindow } from './scenarios.js';
import { median, percentile } from './sys.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const EXPIRES = { 'x-expires': 120_000 };

export interface ExtraContext {
  job: Job;
  side: RawConnection;
  adapter: Adapter;
  /** a unique queue name prefix for this run */
  prefix: string;
  payload: Buffer;
  waitDepth(queue: string, n: number, timeoutMs: number): Promise<void>;
  /** clients to close afterwards (the worker closes them) */
  clients: BenchClient[];
}

let gcFn: (() => void) | null = null;
/** A full GC, a pause for the allocator to return memory, another GC. */
async function settleHeap(): Promise<void> {
  if (gcFn === null) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  await sleep(200);
  gcFn();
}

function footprint(): { rss: number; heap: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

async function connect(x: ExtraContext): Promise<BenchClient> {
  const c = await x.adapter.connect(x.job.url);
  x.clients.push(c);
  return c;
}

/** Run one of the extra scenarios; queues it declares are deleted by the caller from `queues`. */
export async function runExtra(x: ExtraContext, queues: string[]): Promise<RunResult> {
  const { job, side } = x;
  switch (job.kind) {
    case 'many-queues': {
      const names = Array.from({ length: job.param! }, (_, i) => `${x.prefix}.${i}`);
      for (const q of names) {
        await side.queueDeclare(q, { args: EXPIRES });
        queues.push(q);
      }
      const client = await connect(x);
      const go = await client.manyQueues(names, x.payload, job.n, { prefetch: 10, window: publishWindow(job.size) });
      const m = new Meter();
      await go();
      return m.stop(job, job.n);
    }
    case 'channels': {
      const q = x.prefix;
      await side.queueDeclare(q, { exclusive: true, args: EXPIRES });
      const client = await connect(x);
      const k = job.param!;
      const open = new Meter();
      const set = await client.openChannels(k);
      const openMs = open.elapsedMs();
      const openCpuMs = open.cpuS() * 1000;
      const m = new Meter();
      for (let r = 0; r < job.n / k; r++) await set.publishEach(q, x.payload);
      await x.waitDepth(q, job.n, 120_000);
      const res = m.stop(job, job.n);
      res.extra = { openMs, openCpuMs };
      await set.close();
      return res;
    }
    case 'latency': {
      const q = x.prefix;
      await side.queueDeclare(q, { exclusive: false, args: EXPIRES });
      const client = await connect(x);
      const lat = new Float64Array(job.n);
      let got = 0;
      let warm = 0;
      const WARM = 500;
      let wake: (() => void) | null = null;
      const nowUs = (): number => Math.round(performance.now() * 1000);
      const send = await client.latency(q, x.payload, (ts) => {
        const d = (nowUs() - ts) / 1000;
        if (warm < WARM) warm++;
        else if (got < job.n) lat[got++] = d;
        if ((warm === WARM && got === 0) || got === job.n) wake?.();
      });
      const waitFor = (cond: () => boolean, ms: number): Promise<void> =>
        Promise.race([
          new Promise<void>((r) => (wake = () => cond() && r())),
          sleep(ms).then(() => {
            if (!cond()) throw new Error(`latency: ${warm} warm-up and ${got} of ${job.n} deliveries arrived`);
          }),
        ]);
      // untimed warm-up at the same rate
      const warmDone = waitFor(() => warm === WARM, 30_000);
      await paced(WARM, job.param!, () => send(nowUs()));
      await warmDone;
      const m = new Meter();
      const allDone = waitFor(() => got === job.n, 60_000 + (job.n / job.param!) * 2000);
      await paced(job.n, job.param!, () => send(nowUs()));
      await allDone;
      const res = m.stop(job, job.n);
      res.p50Ms = percentile(lat, 50);
      res.p99Ms = percentile(lat, 99);
      return res;
    }
    case 'idle-connections': {
      await connect(x); // warm-up: modules loaded, first-use allocations made
      await settleHeap();
      const f0 = footprint();
      const m = new Meter();
      for (let i = 0; i < job.n; i++) await connect(x);
      const res = m.stop(job, job.n);
      await settleHeap();
      const f1 = footprint();
      res.extra = { rssKB: (f1.rss - f0.rss) / 1024 / job.n, heapKB: (f1.heap - f0.heap) / 1024 / job.n };
      return res;
    }
    case 'idle-channels': {
      const client = await connect(x);
      const warmSet = await client.openChannels(10);
      await settleHeap();
      const f0 = footprint();
      const m = new Meter();
      const set = await client.openChannels(job.n);
      const res = m.stop(job, job.n);
      await settleHeap();
      const f1 = footprint();
      res.extra = { rssKB: (f1.rss - f0.rss) / 1024 / job.n, heapKB: (f1.heap - f0.heap) / 1024 / job.n, openMs: res.wallS * 1000 };
      await set.close();
      await warmSet.close();
      return res;
    }
    case 'connect': {
      // warm-up: the first connect loads modules
      const w = await x.adapter.connect(job.url);
      await (await w.openChannels(1)).close();
      await w.close();
      const times: number[] = [];
      const m = new Meter();
      for (let i = 0; i < job.n; i++) {
        const t0 = performance.now();
        const c = await x.adapter.connect(job.url);
        const set = await c.openChannels(1);
        times.push(performance.now() - t0);
        await set.close();
        await c.close();
      }
      const res = m.stop(job, job.n);
      res.extra = { connectMs: median(times), connectCpuMs: (res.clientCpuS * 1000) / job.n };
      return res;
    }
    default:
      throw new Error(`not an extra scenario: ${job.kind}`);
  }
}
