// The long fuzz campaign of scenario 7 (`npm run fuzz`): runs fuzz-core.ts
// cases in worker threads under a watchdog and prints the cases run, the
// failures and the seed. A case that throws anything but a FrameError out
// of the frame layer, breaks an invariant of the client (fuzz-core.ts),
// crashes its worker (uncaught exception, unhandled rejection) or hangs
// (no progress for --hang-ms) is a failure; failures are written to
// --out (JSON: seed, case index, level, mutations, input hex, reason) and
// can be replayed one at a time with --seed S --case I.
//
//   npm run fuzz                                # 1,000,000 cases, random seed
//   npm run fuzz -- --cases 50000 --seed 1234
//   npm run fuzz -- --seed 1234 --case 4711     # replay one case, verbosely
//
// Options: --cases N (1000000), --seed S (random), --workers W (CPUs, max 4),
// --client-share F (0.25: share of client-level cases), --hang-ms T (10000),
// --out FILE (docs/fuzz-results/fuzz-failures-<seed>.json, from the repository root),
// --inject hang|crash|reject (self-test of the harness: case 5 misbehaves).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadCorpus, runCase, type CaseResult } from './fuzz-core.js';

/** Where campaign outputs are kept (outside test/): failure files and, by hand, logs. */
const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/fuzz-results');

interface Failure {
  readonly seed: number;
  readonly index: number;
  readonly level: string;
  readonly reason: string;
  readonly mutations?: readonly string[];
  readonly input?: string;
}

interface WorkerJob {
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  readonly clientShare: number;
  /** Harness self-test: make case 5 hang, crash or leave an unhandled rejection. */
  readonly inject?: string;
  /** Shared: [0] = index of the case running now. */
  readonly current: SharedArrayBuffer;
}

type FromWorker =
  | { kind: 'progress'; done: number; codes: Record<string, number>; failures: Failure[] }
  | { kind: 'finished' };

// ---------------------------------------------------------------------------
// Worker
// ---------------------------------------------------------------------------

async function workerMain(job: WorkerJob): Promise<void> {
  const port = parentPort!;
  const corpus = loadCorpus();
  const current = new Int32Array(job.current);
  let failures: Failure[] = [];
  let codes: Record<string, number> = {};
  let done = 0;
  const crash = (what: string) => (err: unknown) => {
    failures.push({
      seed: job.seed,
      index: Atomics.load(current, 0),
      level: 'crash',
      reason: `${what}: ${err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack ?? ''}` : String(err)}`,
    });
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
  const flush = (): void => {
    port.postMessage({ kind: 'progress', done, codes, failures } satisfies FromWorker);
    failures = [];
    codes = {};
    done = 0;
  };
  let last = Date.now();
  for (let i = job.from; i < job.to; i++) {
    Atomics.store(current, 0, i);
    if (job.inject !== undefined && i === 5) {
      if (job.inject === 'hang') for (;;);
      if (job.inject === 'crash') setImmediate(() => {
        throw new Error('injected crash');
      });
      if (job.inject === 'reject') void Promise.reject(new Error('injected rejection'));
      await new Promise((r) => setImmediate(r));
    }
    const r: CaseResult = await runCase(corpus, job.seed, i, job.clientShare);
    done++;
    const key = `${r.level}:${r.code}`;
    codes[key] = (codes[key] ?? 0) + 1;
    if (!r.ok) {
      failures.push({ seed: job.seed, index: i, level: r.level, reason: r.failure ?? '?', mutations: r.mutations, input: r.input });
    }
    if (Date.now() - last > 250) {
      flush();
      last = Date.now();
    }
  }
  flush();
  port.postMessage({ kind: 'finished' } satisfies FromWorker);
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function args(): Map<string, string> {
  const m = new Map<string, string>();
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!;
    if (!k.startsWith('--')) throw new Error(`unexpected argument ${k}`);
    const eq = k.indexOf('=');
    if (eq > 0) m.set(k.slice(2, eq), k.slice(eq + 1));
    else m.set(k.slice(2), a[++i] ?? '');
  }
  return m;
}

function num(m: Map<string, string>, k: string, d: number): number {
  const v = m.get(k);
  if (v === undefined) return d;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n)) throw new Error(`--${k}: not a number: ${v}`);
  return n;
}

async function replayOne(seed: number, index: number, clientShare: number): Promise<void> {
  const corpus = loadCorpus();
  const r = await runCase(corpus, seed, index, clientShare);
  console.log(JSON.stringify({ seed, index, ...r }, null, 2));
  process.exitCode = r.ok ? 0 : 1;
}

async function main(): Promise<void> {
  const a = args();
  const cases = num(a, 'cases', 1_000_000);
  const seed = num(a, 'seed', (Math.random() * 0x1_0000_0000) >>> 0) >>> 0;
  const workers = Math.max(1, Math.min(num(a, 'workers', Math.min(4, os.availableParallelism())), 16));
  const clientShare = num(a, 'client-share', 0.25);
  const hangMs = num(a, 'hang-ms', 10_000);
  const out = a.get('out') ?? path.join(RESULTS_DIR, `fuzz-failures-${seed}.json`);
  const inject = a.get('inject');
  if (a.has('case')) return replayOne(seed, num(a, 'case', 0), clientShare);

  console.log(`fuzz campaign: ${cases} cases, seed ${seed}, ${workers} workers, client-level share ${clientShare}`);
  const corpus = loadCorpus();
  console.log(`corpus: ${corpus.fixture.broker}, ${corpus.stream.length} bytes, ${corpus.frames.length} frames, ${corpus.segments.length} segments`);
  const t0 = Date.now();
  const failures: Failure[] = [];
  const codes: Record<string, number> = {};
  let done = 0;
  let lastPrint = Date.now();

  const runRange = (from: number, to: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const current = new SharedArrayBuffer(4);
      Atomics.store(new Int32Array(current), 0, from);
      const job: WorkerJob = { seed, from, to, clientShare, current, ...(inject === undefined ? {} : { inject }) };
      // Workers do not inherit tsx's loader: a small bootstrap registers it, then loads this file.
      const bootstrap =
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
        `.then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(bootstrap, { eval: true, workerData: job });
      let lastHeard = Date.now();
      let heard = false;
      /** First case of this range not yet counted. */
      let reported = from;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        resolve();
      };
      const watchdog = setInterval(() => {
        if (Date.now() - lastHeard < hangMs) return;
        const index = Atomics.load(new Int32Array(current), 0);
        failures.push({ seed, index, level: 'hang', reason: `no progress for ${hangMs} ms at case ${index}` });
        done += index - reported + 1; // cases the worker ran but had not reported yet, and the hung one
        void w.terminate();
        clearInterval(watchdog);
        // Go on after the hung case.
        const next = index + 1 < to ? runRange(index + 1, to) : Promise.resolve();
        finished = true;
        void next.then(resolve);
      }, 500);
      w.on('message', (msg: FromWorker) => {
        lastHeard = Date.now();
        heard = true;
        if (msg.kind === 'finished') return;
        done += msg.done;
        reported += msg.done;
        failures.push(...msg.failures);
        for (const [k, v] of Object.entries(msg.codes)) codes[k] = (codes[k] ?? 0) + v;
        if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          const s = (Date.now() - t0) / 1000;
          console.log(`  ${done} cases, ${failures.length} failures, ${(done / s).toFixed(0)} cases/s`);
        }
      });
      w.on('error', (err) => {
        if (!heard && Atomics.load(new Int32Array(current), 0) === from) {
          // Died before its first case: a broken setup, not a finding.
          console.error(`fuzz worker failed to start: ${err.stack ?? String(err)}`);
          process.exit(2);
        }
        const index = Atomics.load(new Int32Array(current), 0);
        failures.push({ seed, index, level: 'crash', reason: `worker died: ${err.stack ?? String(err)}` });
        done += index - reported + 1;
        if (finished) return;
        clearInterval(watchdog);
        finished = true;
        const next = index + 1 < to ? runRange(index + 1, to) : Promise.resolve();
        void next.then(resolve);
      });
      w.on('exit', () => finish());
    });

  const per = Math.ceil(cases / workers);
  const ranges: Promise<void>[] = [];
  for (let i = 0; i < workers; i++) {
    const from = i * per;
    const to = Math.min(cases, from + per);
    if (from < to) ranges.push(runRange(from, to));
  }
  await Promise.all(ranges);
  const seconds = (Date.now() - t0) / 1000;

  const byLevel: Record<string, number> = {};
  for (const [k, v] of Object.entries(codes)) {
    const level = k.split(':')[0]!;
    byLevel[level] = (byLevel[level] ?? 0) + v;
  }
  console.log('');
  console.log(`seed:        ${seed}`);
  console.log(`cases run:   ${done}`);
  console.log(`failures:    ${failures.length}`);
  console.log(`time:        ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)} cases/s)`);
  console.log(`by level:    ${JSON.stringify(byLevel)}`);
  console.log(`outcomes:    ${JSON.stringify(Object.fromEntries(Object.entries(codes).sort()))}`);
  console.log('             (level:code; code = FrameError reply code the case ended with, 0 = no frame error)');
  if (failures.length > 0) {
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ seed, cases, clientShare, failures }, null, 1) + '\n');
    console.log(`failures written to ${out}; replay one with: npm run fuzz -- --seed ${seed}${clientShare === 0.25 ? '' : ` --client-share ${clientShare}`} --case <index>`);
    const kinds = new Map<string, number>();
    for (const f of failures) {
      const k = `${f.level}: ${f.reason.split('\n')[0]!.slice(0, 160)}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    for (const [k, n] of [...kinds].sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`  ${n} × ${k}`);
    process.exitCode = 1;
  }
}

if (isMainThread) {
  await main();
} else {
  await workerMain(workerData as WorkerJob);
}
