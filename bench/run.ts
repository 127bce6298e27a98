// `npm run bench` — the side-by-side benchmark of issue 5.
//
//   npm run bench                       full run: 5 rounds, scale 0.35 (see FULL_SCALE)
//   npm run bench -- --quick            1 round at scale 0.1 (< 1 minute)
//   npm run bench -- --rounds 7 --scale 0.5 --only ours,amqplib,raw
//   npm run bench -- --scenarios publish,consume-noack-16B --chart
//
// Every (round, scenario, client) runs in a fresh child process
// (bench/worker.ts); within a round the clients of each scenario run one after
// another and their order rotates from round to round, so slow drifts of the
// shared machine spread over all clients. Prints markdown tables (medians with
// min–max, ratios ours / best peer and ours / raw), writes the raw JSON to
// bench/results/<timestamp>.json, and with --chart the SVG docs/performance.svg.

import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Adapter } from './lib/adapter.js';
import type { Job, RunResult } from './lib/scenarios.js';
import { SCENARIOS, WARMUP_FRACTION, jobFor, selects } from './lib/scenarios.js';
import { freshMiBCostMs } from './lib/fresh.js';
import { isVariant, renderSvg } from './lib/report.js';
import { PAIRED_SUFFIX } from './lib/paired.js';
import { peersView, renderReport } from './lib/report-all.js';
import { machineBusySeconds } from './lib/sys.js';
import { buildWorker } from './lib/build.js';

/**
 * The full run's default scale. At scale 1 (200k / 50k / 1k messages, 10k RPC
 * calls) one round of the 13 scenarios × 5 clients takes ~4.5 minutes on the
 * 2-core machine this was written on, so 5 rounds would take over 20; 0.35
 * keeps `npm run bench` under 10 minutes. Pass --scale 1 for the issue's counts.
 */
const FULL_SCALE = 0.35;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

interface Args {
  quick: boolean;
  scale: number;
  rounds: number;
  only: string[] | null;
  scenarios: string[] | null;
  chart: boolean;
  url: string;
  build: boolean;
  out: string | null;
  /** wait before each run until the machine's busy cores drop below this (0 = off) */
  settle: number;
  /** untimed warm-up, as a fraction of each scenario's messages (bench/lib/warmup.ts; 0 = cold) */
  warmup: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    quick: false,
    scale: Number.NaN,
    rounds: Number.NaN,
    only: null,
    scenarios: null,
    chart: false,
    url: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
    build: true,
    out: null,
    settle: Number.NaN,
    warmup: WARMUP_FRACTION,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    const [key, inline] = k.includes('=') ? [k.slice(0, k.indexOf('=')), k.slice(k.indexOf('=') + 1)] : [k, null];
    const val = (): string => inline ?? v();
    switch (key) {
      case '--quick':
        a.quick = true;
        break;
      case '--scale':
        a.scale = Number(val());
        break;
      case '--rounds':
        a.rounds = Number(val());
        break;
      case '--only':
        a.only = val().split(',').filter(Boolean);
        break;
      case '--scenarios':
        a.scenarios = val().split(',').filter(Boolean);
        break;
      case '--chart':
        a.chart = true;
        break;
      case '--url':
        a.url = val();
        break;
      case '--no-build':
        a.build = false;
        break;
      case '--settle':
        a.settle = Number(val());
        break;
      case '--out':
        a.out = val();
        break;
      case '--warmup':
        a.warmup = Number(val());
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: npm run bench -- [--quick] [--scale X] [--rounds N] [--only c1,c2] [--scenarios s1,s2] [--chart] [--settle CORES] [--warmup FRACTION] [--url amqp://…] [--no-build] [--out file.json]',
        );
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new Error(`unknown option ${k}`);
    }
  }
  if (Number.isNaN(a.scale)) a.scale = a.quick ? 0.1 : FULL_SCALE;
  if (Number.isNaN(a.rounds)) a.rounds = a.quick ? 1 : 5;
  // --quick skips the wait for a quiet machine to stay under a minute
  if (Number.isNaN(a.settle)) a.settle = a.quick ? 0 : 0.3;
  if (!(a.warmup >= 0)) throw new Error('--warmup must be a fraction >= 0 (0: no warm-up)');
  if (!(a.scale > 0) || !(a.rounds >= 1)) throw new Error('--scale must be > 0 and --rounds >= 1');
  return a;
}

/** ours first, then the peers alphabetically, raw last. */
function discoverClients(): string[] {
  const names = readdirSync(path.join(here, 'adapters'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3));
  const rank = (n: string): number => (n === 'ours' ? 0 : isVariant(n) ? 1 : n === 'raw' ? 3 : 2);
  return names.sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
}

function oursAvailable(): boolean {
  return existsSync(path.join(root, 'src', 'index.ts'));
}

/** Extra node flags for every worker, e.g. WORKER_ARGS='--min-semi-space-size=16' (V8 flags NODE_OPTIONS refuses). */
const WORKER_ARGS = process.env.WORKER_ARGS?.split(' ').filter(Boolean) ?? [];

function runJob(w: { entry: string; execArgv: string[] }, job: Job, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = fork(w.entry, ['run', JSON.stringify(job)], {
      execArgv: [...w.execArgv, ...WORKER_ARGS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: RunResult | null = null;
    const failed = (error: string): RunResult => ({
      ...job,
      ok: false,
      error,
      wallS: Number.NaN,
      rate: Number.NaN,
      clientCpuS: Number.NaN,
      cpuPer100k: Number.NaN,
      brokerCpuS: Number.NaN,
      brokerCpuPer100k: Number.NaN,
      otherCores: Number.NaN,
      loadavg1: os.loadavg()[0]!,
      maxRssMB: Number.NaN,
    });
    const timer = setTimeout(() => {
      result ??= failed(`timed out after ${timeoutMs} ms`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m) => {
      result = m as RunResult;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(result ?? failed(`worker exited (${code ?? signal}) without a result`));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Wait (at most `maxMs`) until the machine is quiet: busy CPU over a 100 ms
 * sample below `cores`. Other tenants of a shared machine come and go; this
 * keeps most runs out of their bursts. Returns the milliseconds waited.
 */
async function settle(cores: number, maxMs: number): Promise<{ waitedMs: number; busy: number }> {
  const t0 = performance.now();
  let busy = 0;
  for (;;) {
    const b0 = machineBusySeconds();
    const s0 = performance.now();
    await sleep(100);
    busy = (machineBusySeconds() - b0) / ((performance.now() - s0) / 1000);
    const waited = performance.now() - t0;
    if (!(busy > cores) || waited >= maxMs) return { waitedMs: waited, busy };
    await sleep(100);
  }
}

function fmtRate(r: number): string {
  return r >= 10_000 ? `${(r / 1000).toFixed(0)}k` : r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r.toFixed(0);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let clients = discoverClients();
  const notes: string[] = [];
  if (args.only) {
    const unknown = args.only.filter((c) => !clients.includes(c));
    if (unknown.length) throw new Error(`unknown client(s) ${unknown.join(', ')}; have ${clients.join(', ')}`);
    clients = clients.filter((c) => args.only!.includes(c));
  }
  if (clients.includes('ours') && !oursAvailable()) {
    clients = clients.filter((c) => c !== 'ours' && !isVariant(c));
    notes.push('ours: skipped, src/index.ts does not exist yet');
    console.error('note: src/index.ts does not exist yet; running without ours');
  }
  // --scenarios takes ids, kinds, groups (classic, props, many, latency, footprint) or id prefixes
  const scenarios = SCENARIOS.filter((s) => (args.scenarios === null ? !s.optional : args.scenarios.some((p) => selects(s, p))));
  if (scenarios.length === 0 || clients.length === 0) throw new Error('nothing to run');

  const adapters = new Map<string, Adapter>();
  for (const c of clients) adapters.set(c, ((await import(`./adapters/${c}.js`)) as { default: Adapter }).default);
  const runs = (client: string, scenario: string): boolean => adapters.get(client)!.scenarios?.includes(scenario) ?? true;

  const paired = clients.includes('ours') ? clients.filter(isVariant) : [];
  const jobs: Job[] = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const [si, s] of scenarios.entries()) {
      // rotate by round and scenario so no client is always first or last
      const rot = (round + si) % clients.length;
      const order = [...clients.slice(rot), ...clients.slice(0, rot)];
      for (const client of order) {
        if (!runs(client, s.id)) continue;
        jobs.push(jobFor(s, { round, client, scale: args.scale, url: args.url, warmup: args.warmup }));
      }
      // a variant's consume scenarios also run paired with ours in one process (bench/lib/paired.ts)
      for (const v of paired) {
        if (runs(v, s.id) && s.kind.startsWith('consume')) jobs.push(jobFor(s, { round, client: v + PAIRED_SUFFIX, scale: args.scale, url: args.url, warmup: args.warmup }));
      }
    }
  }

  const descriptions: Record<string, string> = {};
  for (const [c, a] of adapters) descriptions[c] = a.describe();

  const worker = await buildWorker(here, clients, args.build);
  const started = new Date();
  console.error(
    `bench: ${clients.join(', ')} × ${scenarios.length} scenarios × ${args.rounds} round(s), scale ${args.scale}: ${jobs.length} runs`,
  );
  const results: RunResult[] = [];
  const meta = {
    started: started.toISOString(),
    elapsedS: 0,
    command: `${WORKER_ARGS.length ? `WORKER_ARGS='${WORKER_ARGS.join(' ')}' ` : ''}npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    scale: args.scale,
    rounds: args.rounds,
    clients: [...clients, ...paired.map((v) => v + PAIRED_SUFFIX)],
    scenarios: scenarios.map((s) => s.id),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGB: os.totalmem() / 2 ** 30,
    notes,
    descriptions,
    settle: args.settle,
    warmup: args.warmup,
    // the floor of the 1 MiB consumes is raw + this (issue 15); measured after the runs, since
    // Linux hands a process's peak RSS down to the children it spawns later
    freshMiBMs: Number.NaN,
  };
  const resultsDir = path.join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const out = args.out ?? path.join(resultsDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const t0 = performance.now();
  let settleSpent = 0;
  for (const [i, job] of jobs.entries()) {
    const perItem = job.kind === 'rpc' ? 5 : job.kind === 'idle-connections' || job.kind === 'connect' ? 500 : job.kind === 'idle-channels' ? 50 : 0.5;
    const timeoutMs = 60_000 + job.n * perItem + (job.size >= 1048576 ? job.n * 50 : 0);
    // wait ≤ 1.5 s per run and ≤ 90 s per benchmark in total: on a machine
    // that stays busy, waiting buys nothing and would blow the time budget
    const maxWait = Math.min(1500, Math.max(0, 90_000 - settleSpent));
    const quiet = args.settle > 0 ? await settle(args.settle, maxWait) : { waitedMs: 0, busy: Number.NaN };
    settleSpent += quiet.waitedMs;
    const r = await runJob(worker, job, timeoutMs);
    r.settleMs = quiet.waitedMs;
    r.busyBefore = quiet.busy;
    results.push(r);
    // NaN travels over IPC as null: print defensively
    const f = (x: number | null | undefined, d: number): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '?');
    const what = r.ok
      ? `${typeof r.rate === 'number' ? fmtRate(r.rate) : '?'}/s  cpu ${f(r.cpuPer100k, 2)} s/100k${r.p50Ms != null ? `  p50 ${f(r.p50Ms, 3)} ms` : ''}  other ${f(r.otherCores, 2)}`
      : `FAILED: ${r.error}`;
    writeFileSync(out, JSON.stringify({ meta, results }, null, 1)); // partial, in case we die
    console.error(`[${i + 1}/${jobs.length}] r${job.round} ${job.scenario.padEnd(18)} ${job.client.padEnd(16)} ${what}`);
  }
  meta.elapsedS = (performance.now() - t0) / 1000;
  if (scenarios.some((s) => s.size >= 1048576 && s.kind.startsWith('consume'))) meta.freshMiBMs = freshMiBCostMs();
  const elapsedS = meta.elapsedS;
  writeFileSync(out, JSON.stringify({ meta, results }, null, 1));

  console.log(renderReport(meta, results));
  console.error(`\nraw results: ${path.relative(process.cwd(), out)}  (${elapsedS.toFixed(0)} s)`);
  if (args.chart) {
    const svgPath = path.join(root, 'docs', 'performance.svg');
    mkdirSync(path.dirname(svgPath), { recursive: true });
    writeFileSync(svgPath, renderSvg(peersView(meta), results));
    console.error(`chart: ${path.relative(process.cwd(), svgPath)}`);
  }
  const failures = results.filter((r) => !r.ok).length;
  if (failures) console.error(`${failures} run(s) failed`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
