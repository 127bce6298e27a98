// One benchmark run in a fresh process: `worker run '<Job JSON>'`, reporting a
// RunResult over IPC (or stdout). Also `worker rpc-server <url> <queue>`, the
// RPC echo sidecar every client's RPC scenario talks to.
//
// Set-up (queues, pre-fill, the client's connect) is untimed; the timed window
// covers only the scenario itself. Queues are unique per run, exclusive where
// the side connection can own them, and deleted afterwards (with x-expires as
// a safety net should the process die).

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import type { Adapter, BenchClient } from './lib/adapter.js';
import { RawConnection, encodePublish, parseUrl, readReplyProps, waitDepth } from './lib/raw.js';
import { runExtra } from './lib/extra.js';
import { isPaired, pairedVariant, runPaired } from './lib/paired.js';
import { drive, prefill, type DriveContext } from './lib/drive.js';
import { warmUp } from './lib/warmup.js';
import { appProps } from './lib/props.js';
import type { Job, RunResult } from './lib/scenarios.js';
import { KINDS, WARMUP_FRACTION, warmupCount } from './lib/scenarios.js';
import { findBeamPid, machineBusySeconds, percentile, processCpuSeconds } from './lib/sys.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The queue-name prefix of one run: the scenario and 8 random hex digits,
 * the same length for every client, so every client's deliveries carry a
 * routing key of the same size. It must also stay short: RabbitMQ delivers
 * at about half the rate once a routing key (here the queue name) is
 * longer than 64 bytes (measured: 16 B no-ack deliveries at ~200k/s with
 * 64 bytes, ~90k/s with 65; docs/performance.md, run L). Names derived from
 * it add at most 7 bytes ('.warmup').
 */
function runPrefix(scenario: string): string {
  const prefix = `bench.${scenario}.${randomBytes(4).toString('hex')}`;
  if (Buffer.byteLength(prefix) > 64 - '.warmup'.length) throw new Error(`queue prefix ${prefix} is too long: keep queue names within 64 bytes`);
  return prefix;
}

/** An adapter module, loaded only by the runs that use it (a peer's run loads none of our client). */
async function adapterModule<M = { default: Adapter }>(name: string): Promise<M> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'mjs';
  return (await import(new URL(`./adapters/${name}.${ext}`, import.meta.url).href)) as M;
}

const loadAdapter = async (name: string): Promise<Adapter> => (await adapterModule(name)).default;


function body(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

async function startRpcServer(url: string, queue: string): Promise<ChildProcess> {
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, ['rpc-server', url, queue], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [msg] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => {
      throw new Error('rpc server exited before it was ready');
    }),
  ])) as [unknown];
  if (msg !== 'ready') throw new Error(`rpc server: ${String(msg)}`);
  return child;
}

async function run(job: Job): Promise<RunResult> {
  const side = await RawConnection.open(parseUrl(job.url));
  const queue = runPrefix(job.scenario);
  const payload = body(job.size);
  const expires = { 'x-expires': 120_000 };
  let server: ChildProcess | null = null;
  let client: BenchClient | null = null;
  const exclusive = job.kind === 'publish' || job.kind === 'confirm';
  const props = job.props ? appProps() : undefined;
  const extraClients: BenchClient[] = [];
  const extraQueues: string[] = [];
  const waitFor = (q: string, n: number, t: number): Promise<void> => waitDepth(side, q, n, t);
  try {
    if (isPaired(job.client)) {
      const ours = await adapterModule<typeof import('./adapters/ours.js')>('ours');
      const [base, variant, floor] = [ours.default, await loadAdapter(pairedVariant(job.client)), ours.oursAdapter('floor')];
      return await runPaired({ job, side, base, variant, floor, prefix: queue, payload, waitDepth: waitFor, clients: extraClients, queues: extraQueues });
    }
    if (!KINDS.includes(job.kind)) {
      const adapter = await loadAdapter(job.client);
      return await runExtra(
        { job, side, adapter, prefix: queue, payload, waitDepth: waitFor, clients: extraClients },
        extraQueues,
      );
    }
    // ---- untimed set-up
    await side.queueDeclare(queue, { exclusive, args: expires });
    if (job.kind === 'rpc') server = await startRpcServer(job.url, queue);
    const adapter = await loadAdapter(job.client);
    client = await adapter.connect(job.url);
    const x: DriveContext = {
      job,
      client,
      side,
      payload,
      props,
      call: job.kind === 'rpc' ? await client.rpc(queue) : null,
      waitDepth: waitFor,
    };
    if (job.kind === 'consume-ack' || job.kind === 'consume-noack') await prefill(x, queue, job.n);
    await warmUp(x, queue, job.warmup ?? warmupCount(job.kind, job.n, WARMUP_FRACTION));
    const lat = job.kind === 'rpc' ? new Float64Array(job.n) : null;

    // ---- timed
    const beam = findBeamPid();
    const serverPid = server?.pid ?? null;
    const cpu0 = process.cpuUsage();
    const beam0 = processCpuSeconds(beam);
    const srv0 = serverPid === null ? 0 : processCpuSeconds(serverPid);
    const mach0 = machineBusySeconds();
    const h0 = process.hrtime.bigint();
    const t0 = performance.now();
    await drive(x, queue, job.n, lat ?? undefined);
    const wallS = (performance.now() - t0) / 1000;
    const h1 = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    const brokerCpuS = processCpuSeconds(beam) - beam0;
    const srvCpuS = serverPid === null ? 0 : processCpuSeconds(serverPid) - srv0;
    const machS = machineBusySeconds() - mach0;
    const clientCpuS = (cpu.user + cpu.system) / 1e6;
    const per100k = 100_000 / job.n;

    if (job.kind === 'confirm') {
      // not timed: make sure the broker really has them all
      await waitDepth(side, queue, job.n, 30_000);
    }
    const res: RunResult = {
      ...job,
      ok: true,
      wallS,
      rate: job.n / wallS,
      clientCpuS,
      clientUserS: cpu.user / 1e6,
      clientSysS: cpu.system / 1e6,
      cpuPer100k: clientCpuS * per100k,
      brokerCpuS,
      brokerCpuPer100k: brokerCpuS * per100k,
      otherCores: Math.max(0, (machS - clientCpuS - brokerCpuS - srvCpuS) / wallS),
      loadavg1: os.loadavg()[0]!,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      windowUs: [Number(h0 / 1000n), Number(h1 / 1000n)],
    };
    if (lat !== null) {
      res.p50Ms = percentile(lat, 50);
      res.p99Ms = percentile(lat, 99);
    }
    return res;
  } finally {
    for (const c of extraClients) await Promise.race([c.close().catch(() => undefined), sleep(3000)]);
    for (const q of extraQueues) await side.queueDelete(q).catch(() => undefined);
    if (client !== null) await Promise.race([client.close().catch(() => undefined), sleep(3000)]);
    if (server !== null) server.kill();
    await side.queueDelete(queue).catch(() => undefined);
    await side.close();
  }
}

/** The RPC echo server: consume requests (no-ack), reply to reply-to with the same body. */
async function rpcServer(url: string, queue: string): Promise<void> {
  const c = await RawConnection.open(parseUrl(url));
  c.collectContent = true;
  c.onMessage = (m) => {
    const { replyTo, correlationId } = readReplyProps(m.header);
    if (replyTo === undefined) return;
    c.send(encodePublish(1, '', replyTo, m.body, c.frameMax, correlationId === undefined ? {} : { correlationId }));
  };
  await c.consume(queue, true);
  process.send?.('ready');
  process.on('SIGTERM', () => {
    void c.close().finally(() => process.exit(0));
  });
  await c.failed().catch(() => process.exit(0));
}

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === 'rpc-server' && a !== undefined && b !== undefined) return rpcServer(a, b);
  if (mode !== 'run' || a === undefined) {
    console.error("usage: worker run '<job json>' | worker rpc-server <url> <queue>");
    process.exit(2);
  }
  const job = JSON.parse(a) as Job;
  let res: RunResult;
  try {
    res = await run(job);
  } catch (e) {
    res = {
      ...job,
      ok: false,
      error: e instanceof Error ? e.message : String(e),
      wallS: Number.NaN,
      rate: Number.NaN,
      clientCpuS: Number.NaN,
      cpuPer100k: Number.NaN,
      brokerCpuS: Number.NaN,
      brokerCpuPer100k: Number.NaN,
      otherCores: Number.NaN,
      loadavg1: os.loadavg()[0]!,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    };
  }
  if (process.send) process.send(res, () => process.exit(0));
  else {
    console.log(JSON.stringify(res));
    process.exit(0);
  }
}

void main();
