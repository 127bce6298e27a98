// Issue 15's tables: the restated goal per scenario (CPU above the floor,
// throughput against the best peer and the raw baseline, RPC latency), and the
// scenario-specific figures (channel open time, footprint, connect time).

import type { Meta } from './report.js';
import { Table, agg, bestPeer, fmtNum, isPeer, row } from './report.js';
import type { RunResult } from './scenarios.js';
import { SCENARIOS } from './scenarios.js';
import { median } from './sys.js';

/** The floor of a scenario's CPU (s per 100k): raw, plus a fresh buffer per message where the user keeps 1 MiB bodies. */
function floorOf(meta: Meta, kind: string, size: number, raw: number): number {
  const fresh = kind.startsWith('consume') && size >= 1048576 ? (meta.freshMiBMs ?? Number.NaN) * 100 : 0;
  return raw + fresh;
}

/** The CPU ratio (ours − floor) / (best peer − floor) in one round, or NaN. */
function roundRatio(meta: Meta, rs: RunResult[], kind: string, size: number): number {
  const cpu = (c: string): number => rs.find((r) => r.ok && r.client === c)?.cpuPer100k ?? Number.NaN;
  const peers = meta.clients.filter(isPeer).map(cpu).filter(Number.isFinite);
  if (peers.length === 0) return Number.NaN;
  const floor = floorOf(meta, kind, size, cpu('raw'));
  const den = Math.min(...peers) - floor;
  return den > 0 ? (cpu('ours') - floor) / den : Number.NaN;
}

/**
 * The goal as an inequality, (ours − floor) ≤ 0.5 × (best peer − floor): it
 * stays meaningful when the estimated floor is above the best peer (then the
 * ratio is not, and is not shown).
 */
function cpuMet(ours: number, floor: number, peer: number): boolean | null {
  if (![ours, floor, peer].every(Number.isFinite)) return null;
  return ours - floor <= 0.5 * (peer - floor);
}

const mark = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? '**met**' : 'not met');

export function renderGoals(meta: Meta, results: RunResult[]): string[] {
  const t = new Table(results);
  const c = meta.clients;
  if (!c.includes('ours') || !c.includes('raw') || !c.some(isPeer)) return [];
  const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id) && s.group !== 'footprint');
  const out: string[] = [
    "### Issue 15's goal per scenario",
    '',
    'CPU: (ours − floor) ≤ 0.5 × (best peer − floor), floor = raw' +
      (Number.isFinite(meta.freshMiBMs) ? ` (1 MiB consumes: raw + ${((meta.freshMiBMs ?? 0) * 100).toFixed(1)} s/100k, a fresh 1 MiB buffer per message, ${(meta.freshMiBMs ?? 0).toFixed(3)} ms each, measured by the runner)` : '') +
      '; the ratio of medians, then the min–max of the same ratio computed within each round. Throughput: ours ≥ best peer and ≥ 0.9× raw (fixed-rate scenarios: n/a). RPC: p50 ≤ 0.9× the best peer\'s.',
    '',
  ];
  out.push(row(['scenario', 'floor s/100k', 'ours − floor', 'best peer − floor', 'ratio (per-round min–max)', 'CPU goal', 'rate ours / best peer', 'rate ours / raw', 'throughput goal', 'p50 ours / best peer']));
  out.push(row(['---', '--:', '--:', '--:', '--:', ':-:', '--:', '--:', ':-:', '--:']));
  for (const s of scen) {
    const ours = t.get(s.id, 'ours', 'cpuPer100k').med;
    const floor = floorOf(meta, s.kind, s.size, t.get(s.id, 'raw', 'cpuPer100k').med);
    const bp = bestPeer(t, c, s.id, 'cpuPer100k', false);
    const ratio = bp && bp.v > floor ? (ours - floor) / (bp.v - floor) : Number.NaN;
    const rounds = [...new Set(results.filter((r) => r.scenario === s.id).map((r) => r.round))];
    const per = agg(rounds.map((k) => roundRatio(meta, results.filter((r) => r.scenario === s.id && r.round === k), s.kind, s.size)));
    const fixedRate = s.kind === 'latency';
    const rp = bestPeer(t, c, s.id, 'rate', true);
    const rOurs = t.get(s.id, 'ours', 'rate').med;
    const vsPeer = rp ? rOurs / rp.v : Number.NaN;
    const vsRaw = rOurs / t.get(s.id, 'raw', 'rate').med;
    const lp = bestPeer(t, c, s.id, 'p50Ms', false);
    const p50 = lp ? t.get(s.id, 'ours', 'p50Ms').med / lp.v : Number.NaN;
    const rpcOk = s.kind === 'rpc' && Number.isFinite(p50) ? p50 <= 0.9 : null;
    out.push(
      row([
        s.id,
        fmtNum(floor, 'cpu'),
        fmtNum(ours - floor, 'cpu'),
        bp ? `${fmtNum(bp.v - floor, 'cpu')} (${bp.name})` : '—',
        Number.isFinite(ratio)
          ? `${ratio.toFixed(2)} (${Number.isFinite(per.min) ? `${per.min.toFixed(2)}–${per.max.toFixed(2)}` : '—'})`
          : bp && bp.v <= floor
            ? 'floor above best peer'
            : '—',
        mark(cpuMet(ours, floor, bp?.v ?? Number.NaN)),
        fixedRate ? 'n/a' : fmtNum(vsPeer, 'ratio'),
        fixedRate ? 'n/a' : fmtNum(vsRaw, 'ratio'),
        fixedRate ? 'n/a' : mark(Number.isFinite(vsPeer) ? vsPeer >= 1 && vsRaw >= 0.9 : null),
        Number.isFinite(p50) ? `${fmtNum(p50, 'ratio')}${rpcOk === null ? '' : ` ${mark(rpcOk)}`}` : '—',
      ]),
    );
  }
  const met = scen.filter((s) => {
    const floor = floorOf(meta, s.kind, s.size, t.get(s.id, 'raw', 'cpuPer100k').med);
    return cpuMet(t.get(s.id, 'ours', 'cpuPer100k').med, floor, bestPeer(t, c, s.id, 'cpuPer100k', false)?.v ?? Number.NaN) === true;
  }).length;
  out.push('', `CPU goal met in ${met} of ${scen.length} scenarios.`);
  return out;
}

/** Scenario-specific figures, lower is better for all of them. */
const EXTRAS: ReadonlyArray<{ kind: string; key: string; label: string }> = [
  { kind: 'channels', key: 'openMs', label: 'open 1000 channels (ms)' },
  { kind: 'channels', key: 'openCpuMs', label: 'open 1000 channels (client CPU ms)' },
  { kind: 'idle-connections', key: 'rssKB', label: 'RSS per idle connection (KB)' },
  { kind: 'idle-connections', key: 'heapKB', label: 'heap + external per idle connection (KB)' },
  { kind: 'idle-channels', key: 'rssKB', label: 'RSS per idle channel (KB)' },
  { kind: 'idle-channels', key: 'heapKB', label: 'heap + external per idle channel (KB)' },
  { kind: 'idle-channels', key: 'openMs', label: 'open 1000 channels (ms)' },
  { kind: 'connect', key: 'connectMs', label: 'connect() → first open channel (ms, median of 20)' },
  { kind: 'connect', key: 'connectCpuMs', label: 'client CPU per connect + channel + close (ms)' },
];

export function renderExtras(meta: Meta, results: RunResult[]): string[] {
  const t = new Table(results);
  const c = meta.clients;
  const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id));
  const rows = scen.flatMap((s) => EXTRAS.filter((e) => e.kind === s.kind).map((e) => ({ s, e })));
  if (rows.length === 0) return [];
  const hasOurs = c.includes('ours');
  const out: string[] = ['### Channels, footprint and connect time (lower is better), median (min–max)', ''];
  const hdr = [...(hasOurs ? ['ours / best peer'] : []), ...(hasOurs && c.includes('raw') ? ['ours / raw'] : []), 'best peer'];
  out.push(row(['scenario', 'figure', ...c, ...hdr]));
  out.push(row(['---', '---', ...c.map(() => '--:'), ...hdr.map(() => '--:')]));
  const f = (x: number): string => (!Number.isFinite(x) ? '—' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
  for (const { s, e } of rows) {
    let best: { name: string; v: number } | null = null;
    for (const p of c.filter(isPeer)) {
      const v = t.extra(s.id, p, e.key).med;
      if (Number.isFinite(v) && (best === null || v < best.v)) best = { name: p, v };
    }
    const ours = t.extra(s.id, 'ours', e.key).med;
    const cells = c.map((cl) => {
      const a = t.extra(s.id, cl, e.key);
      return a.count === 0 ? '—' : a.count > 1 ? `${f(a.med)} (${f(a.min)}–${f(a.max)})` : f(a.med);
    });
    const r: string[] = [];
    if (hasOurs) r.push(best ? fmtNum(ours / best.v, 'ratio') : '—');
    if (hasOurs && c.includes('raw')) r.push(fmtNum(ours / t.extra(s.id, 'raw', e.key).med, 'ratio'));
    r.push(best?.name ?? '—');
    out.push(row([s.id, e.label, ...cells, ...r]));
  }
  const n = median(results.filter((r) => r.kind === 'idle-connections').map((r) => r.n));
  if (Number.isFinite(n)) out.push('', `RSS and heap are measured after a forced GC, before and after opening ${n} connections / the channels, divided by their number; one connection (and 10 channels) were opened first so module loading and first-use allocations are not counted.`);
  return out;
}
