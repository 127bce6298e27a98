// `tsx bench/compare.ts <label>=<a.json>,<b.json> <label>=<c.json>,…`
// Compare saved runs of two code versions (e.g. before and after a refactor,
// each run with `npm run bench -- --only ours,raw --out …` in its own
// worktree, alternating): for every scenario and client, the median
// (min–max) over all rounds of all files of each label, and last/first.
// Issue 10's "no regression" check; see docs/performance.md.

import { readFileSync } from 'node:fs';
import type { Meta } from './lib/report.js';
import { agg, fmtNum, row } from './lib/report.js';
import type { RunResult } from './lib/scenarios.js';

const sets = process.argv.slice(2).map((a) => {
  const eq = a.indexOf('=');
  if (eq < 1) throw new Error(`expected label=file.json[,file.json…], got ${a}`);
  const files = a.slice(eq + 1).split(',').filter(Boolean);
  const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as { meta: Meta; results: RunResult[] });
  return { label: a.slice(0, eq), runs, results: runs.flatMap((r) => r.results) };
});
if (sets.length < 2) {
  console.error('usage: tsx bench/compare.ts before=a.json,b.json after=c.json,d.json');
  process.exit(2);
}
const first = sets[0]!;
const last = sets[sets.length - 1]!;
const scenarios = first.runs[0]!.meta.scenarios;
const clients = first.runs[0]!.meta.clients;

const get = (rs: RunResult[], s: string, c: string, m: 'rate' | 'cpuPer100k' | 'p50Ms') =>
  agg(rs.filter((r) => r.ok && r.scenario === s && r.client === c).map((r) => r[m] ?? Number.NaN));
const cell = (a: ReturnType<typeof agg>, k: 'rate' | 'cpu' | 'ms'): string =>
  a.count === 0 ? '—' : `${fmtNum(a.med, k)} (${fmtNum(a.min, k)}–${fmtNum(a.max, k)})`;

for (const [title, m, k] of [
  ['Throughput (msg/s; RPC calls/s)', 'rate', 'rate'],
  ['Client CPU (s per 100k messages)', 'cpuPer100k', 'cpu'],
] as const) {
  console.log(`### ${title}: median (min–max) over all rounds; ${last.label} / ${first.label} of the medians\n`);
  const hdr = clients.flatMap((c) => [...sets.map((x) => `${c} ${x.label}`), `${c} ${last.label} / ${first.label}`]);
  console.log(row(['scenario', ...hdr]));
  console.log(row(['---', ...hdr.map(() => '--:')]));
  for (const s of scenarios) {
    const cells = clients.flatMap((c) => {
      const v = sets.map((x) => get(x.results, s, c, m));
      return [...v.map((a) => cell(a, k)), fmtNum(v[v.length - 1]!.med / v[0]!.med, 'ratio')];
    });
    console.log(row([s, ...cells]));
  }
  console.log('');
}
// The machine's load drifts between runs; within a round the two clients ran
// back to back, so ours / raw per round cancels most of the drift.
if (clients.includes('ours') && clients.includes('raw')) {
  const perRound = (x: (typeof sets)[number], s: string, m: 'rate' | 'cpuPer100k') =>
    agg(
      x.runs.flatMap((run) => {
        const rs = run.results.filter((r) => r.ok && r.scenario === s);
        return [...new Set(rs.map((r) => r.round))].map((k) => {
          const v = (c: string): number => rs.find((r) => r.round === k && r.client === c)?.[m] ?? Number.NaN;
          return v('ours') / v('raw');
        });
      }),
    );
  console.log(`### ours / raw within each round: median (min–max); ${last.label} / ${first.label} of the medians\n`);
  const hdr = (['throughput', 'CPU'] as const).flatMap((w) => [...sets.map((x) => `${w} ${x.label}`), `${w} ${last.label} / ${first.label}`]);
  console.log(row(['scenario', ...hdr]));
  console.log(row(['---', ...hdr.map(() => '--:')]));
  const r2 = (a: ReturnType<typeof agg>): string => (a.count === 0 ? '—' : `${a.med.toFixed(2)} (${a.min.toFixed(2)}–${a.max.toFixed(2)})`);
  for (const s of scenarios) {
    const cells = (['rate', 'cpuPer100k'] as const).flatMap((m) => {
      const v = sets.map((x) => perRound(x, s, m));
      return [...v.map(r2), fmtNum(v[v.length - 1]!.med / v[0]!.med, 'ratio')];
    });
    console.log(row([s, ...cells]));
  }
  console.log('');
}
const rpc = scenarios.filter((s) => s.startsWith('rpc'));
if (rpc.length) {
  console.log(`### RPC p50 latency (ms): median (min–max) over all rounds\n`);
  const hdr = clients.flatMap((c) => [...sets.map((x) => `${c} ${x.label}`), `${c} ${last.label} / ${first.label}`]);
  console.log(row(['scenario', ...hdr]));
  console.log(row(['---', ...hdr.map(() => '--:')]));
  for (const s of rpc) {
    const cells = clients.flatMap((c) => {
      const v = sets.map((x) => get(x.results, s, c, 'p50Ms'));
      return [...v.map((a) => cell(a, 'ms')), fmtNum(v[v.length - 1]!.med / v[0]!.med, 'ratio')];
    });
    console.log(row([s, ...cells]));
  }
  console.log('');
}
console.log(sets.map((x) => `${x.label}: ${x.runs.length} files, ${x.runs.reduce((n, r) => n + r.meta.rounds, 0)} rounds`).join('; '));
