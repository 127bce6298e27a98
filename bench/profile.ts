// `tsx bench/profile.ts [client] [scenario,...] [--scale X] [--top N]`
//
// Runs one benchmark worker under `node --cpu-prof` and prints where the
// client process spends its CPU during the timed window only (set-up such as
// the raw pre-fill of consume queues is cut away). Defaults: client `ours`,
// scenarios publish-16B and consume-noack-16B, scale 1.
//
// The worker runs from the esbuild bundle (as in `npm run bench`); each sample
// is attributed to its source module through the `// src/….ts` markers esbuild
// leaves in the bundle, and to its function name. The .cpuprofile files stay
// in bench/results/profiles/ for Chrome DevTools or speedscope.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorker } from './lib/build.js';
import { SCENARIOS, WARMUP_FRACTION, jobFor, type RunResult } from './lib/scenarios.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** line → source module, from esbuild's `// path/to/file.ts` region comments. */
const regionCache = new Map<string, Array<{ line: number; module: string }>>();
function moduleOf(url: string, line: number): string {
  if (!url.startsWith('file://')) return url === '' ? '' : url;
  const file = fileURLToPath(url);
  if (!file.endsWith('.mjs') || !file.includes(`${path.sep}.build${path.sep}`)) {
    return path.relative(root, file);
  }
  let regions = regionCache.get(file);
  if (regions === undefined) {
    regions = [];
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const m = /^\/\/ ((?:\.\.\/)*[\w@./-]+\.(?:ts|js|mjs|cjs))$/.exec(lines[i]!);
        if (m) regions.push({ line: i, module: m[1]!.replace(/^(\.\.\/)+/, '') });
      }
    }
    regionCache.set(file, regions);
  }
  let mod = path.relative(root, file);
  for (const r of regions) {
    if (r.line <= line) mod = r.module;
    else break;
  }
  return mod;
}

function origin(mod: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program (native, unattributed)';
  if (mod.startsWith('src/')) return 'src/';
  if (mod.startsWith('generated/')) return 'generated/';
  if (mod.startsWith('bench/')) return 'bench/ (harness)';
  if (mod.startsWith('node:') || mod === '') return 'node internals / native';
  return 'other';
}

export function summarize(file: string, top: number, window?: [number, number]): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (window && (t < window[0] || t > window[1])) continue;
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  let idle = 0;
  let busy = 0;
  const byFn = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const mod = moduleOf(url, lineNumber);
    const key = `${functionName || '(anonymous)'}${mod ? `  [${mod}]` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const o = origin(mod, functionName);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + us);
    if (mod) byModule.set(mod, (byModule.get(mod) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const lines: string[] = [];
  lines.push(
    `profile ${path.relative(root, file)}${window ? ' (timed window only)' : ''}: ` +
      `${(busy / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle; shares below are of busy time`,
  );
  lines.push('by origin:');
  for (const [o, us] of [...byOrigin].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(us)}  ${o}`);
  lines.push('by module (top 12):');
  for (const [m, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`  ${pct(us)}  ${m}`);
  lines.push(`top ${top} functions by self time:`);
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let scale = 1;
  let top = 25;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--scale') scale = Number(argv[++i]);
    else if (argv[i] === '--top') top = Number(argv[++i]);
    else pos.push(argv[i]!);
  }
  const client = pos[0] ?? 'ours';
  const ids = pos[1] ? pos[1].split(',') : ['publish-16B', 'consume-noack-16B'];
  const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
  const worker = await buildWorker(here, [client], true);
  for (const id of ids) {
    const s = SCENARIOS.find((x) => x.id === id);
    if (!s) throw new Error(`unknown scenario ${id}`);
    const dir = path.join(here, 'results', 'profiles', `${client}-${id}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const job = jobFor(s, { round: 0, client, scale, url, warmup: WARMUP_FRACTION });
    const r = spawnSync(
      process.execPath,
      [...worker.execArgv, '--cpu-prof', `--cpu-prof-dir=${dir}`, worker.entry, 'run', JSON.stringify(job)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Partial<RunResult>;
    console.log(
      `\n## ${client} ${id} (n=${job.n}): ${res.ok ? `${Math.round(res.rate ?? 0)} msg/s, ${res.cpuPer100k?.toFixed(2)} CPU s/100k` : `FAILED ${res.error}`}`,
    );
    // the worker's own profile is the first; an RPC sidecar writes its own
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    if (files[0]) console.log(summarize(path.join(dir, files[0]), top, res.windowUs));
  }
}

void main();
