// Markdown tables and the hand-written SVG chart from a list of RunResults.

import type { RunResult } from './scenarios.js';
import { MIN_RPC_WARMUP, SCENARIOS } from './scenarios.js';
import { median } from './sys.js';

export interface Meta {
  started: string;
  elapsedS: number;
  command: string;
  scale: number;
  rounds: number;
  clients: string[];
  scenarios: string[];
  node: string;
  cpus: number;
  cpuModel: string;
  memGB: number;
  notes: string[];
  descriptions?: Record<string, string>;
  settle?: number;
  /** untimed warm-up as a fraction of each scenario's messages (absent in runs before it existed: 50 RPC calls only) */
  warmup?: number;
  /** CPU ms to copy a 1 MiB body into a fresh buffer (bench/lib/fresh.ts), measured by the runner */
  freshMiBMs?: number;
}

export interface Agg {
  med: number;
  min: number;
  max: number;
  count: number;
}

export function agg(xs: number[]): Agg {
  const v = xs.filter((x) => Number.isFinite(x));
  return {
    med: median(v),
    min: v.length ? Math.min(...v) : Number.NaN,
    max: v.length ? Math.max(...v) : Number.NaN,
    count: v.length,
  };
}

export type Metric = 'rate' | 'cpuPer100k' | 'brokerCpuPer100k' | 'otherCores' | 'p50Ms' | 'p99Ms' | 'maxRssMB';

export class Table {
  constructor(private readonly results: RunResult[]) {}
  get(scenario: string, client: string, m: Metric): Agg {
    return agg(this.results.filter((r) => r.ok && r.scenario === scenario && r.client === client).map((r) => r[m] ?? Number.NaN));
  }
  /** A scenario-specific figure (RunResult.extra[key]). */
  extra(scenario: string, client: string, key: string): Agg {
    return agg(this.results.filter((r) => r.ok && r.scenario === scenario && r.client === client).map((r) => r.extra?.[key] ?? Number.NaN));
  }
  all(scenario: string, m: Metric): Agg {
    return agg(this.results.filter((r) => r.ok && r.scenario === scenario).map((r) => r[m] ?? Number.NaN));
  }
  failures(scenario: string, client: string): number {
    return this.results.filter((r) => !r.ok && r.scenario === scenario && r.client === client).length;
  }
  n(scenario: string): number {
    return this.results.find((r) => r.scenario === scenario)?.n ?? 0;
  }
}

/** Another form of our own client (`ours-iterator`): compared with `ours` in its own table, never a peer. */
export const isVariant = (c: string): boolean => c.startsWith('ours-');

export const isPeer = (c: string): boolean => c !== 'ours' && c !== 'raw' && !isVariant(c);

export function fmtNum(x: number, kind: 'rate' | 'cpu' | 'ms' | 'ratio' | 'mb'): string {
  if (!Number.isFinite(x)) return '—';
  switch (kind) {
    case 'rate':
      return x >= 100_000 ? `${(x / 1000).toFixed(0)}k` : x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
    case 'cpu':
      return x >= 10 ? x.toFixed(1) : x.toFixed(2);
    case 'ms':
      return x >= 10 ? x.toFixed(1) : x.toFixed(3);
    case 'ratio':
      return `${x.toFixed(2)}×`;
    case 'mb':
      return x.toFixed(0);
  }
}

function cell(a: Agg, kind: 'rate' | 'cpu' | 'ms', failures: number, spread: boolean): string {
  if (a.count === 0) return failures ? `failed ×${failures}` : '—';
  const s = spread && a.count > 1 ? `${fmtNum(a.med, kind)} (${fmtNum(a.min, kind)}–${fmtNum(a.max, kind)})` : fmtNum(a.med, kind);
  return failures ? `${s} ⚠${failures} failed` : s;
}

/** The peer with the best median for a metric (highest rate, lowest cpu/latency). */
export function bestPeer(t: Table, clients: string[], scenario: string, m: Metric, higher: boolean): { name: string; v: number } | null {
  let best: { name: string; v: number } | null = null;
  for (const c of clients.filter(isPeer)) {
    const v = t.get(scenario, c, m).med;
    if (!Number.isFinite(v)) continue;
    if (best === null || (higher ? v > best.v : v < best.v)) best = { name: c, v };
  }
  return best;
}

export function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function renderTables(meta: Meta, results: RunResult[]): string {
  const t = new Table(results);
  const clients = meta.clients;
  // footprint scenarios have their own table (renderExtras): messages/s and CPU per message mean nothing there
  const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id) && s.group !== 'footprint');
  const hasOurs = clients.includes('ours');
  const hasRaw = clients.includes('raw');
  const spread = meta.rounds > 1;
  const out: string[] = [];
  const rounds = `${meta.rounds} round${meta.rounds > 1 ? 's' : ''}`;

  // ---- throughput
  out.push(`### Throughput: messages/s (RPC: calls/s), median${spread ? ' (min–max)' : ''} over ${rounds}`, '');
  const ratioHdr = [
    ...(hasOurs ? ['ours / best peer'] : []),
    ...(hasOurs && hasRaw ? ['ours / raw'] : []),
    'best peer',
    ...(hasRaw ? ['best peer / raw'] : []),
  ];
  out.push(row(['scenario', 'n', ...clients, ...ratioHdr]));
  out.push(row(['---', '--:', ...clients.map(() => '--:'), ...ratioHdr.map(() => '--:')]));
  for (const s of scen) {
    const bp = bestPeer(t, clients, s.id, 'rate', true);
    const ours = t.get(s.id, 'ours', 'rate').med;
    const raw = t.get(s.id, 'raw', 'rate').med;
    const r: string[] = [];
    if (hasOurs) r.push(bp ? fmtNum(ours / bp.v, 'ratio') : '—');
    if (hasOurs && hasRaw) r.push(fmtNum(ours / raw, 'ratio'));
    r.push(bp?.name ?? '—');
    if (hasRaw) r.push(bp ? fmtNum(bp.v / raw, 'ratio') : '—');
    out.push(row([s.id, String(t.n(s.id)), ...clients.map((c) => cell(t.get(s.id, c, 'rate'), 'rate', t.failures(s.id, c), spread)), ...r]));
  }

  // ---- client CPU
  out.push('', `### Client CPU: process user+sys seconds per 100k messages (lower is better), median${spread ? ' (min–max)' : ''}`, '');
  const cpuHdr = [...(hasOurs ? ['ours / best peer'] : []), 'best peer'];
  out.push(row(['scenario', ...clients, ...cpuHdr]));
  out.push(row(['---', ...clients.map(() => '--:'), ...cpuHdr.map(() => '--:')]));
  for (const s of scen) {
    const bp = bestPeer(t, clients, s.id, 'cpuPer100k', false);
    const ours = t.get(s.id, 'ours', 'cpuPer100k').med;
    const r: string[] = [];
    if (hasOurs) r.push(bp ? fmtNum(ours / bp.v, 'ratio') : '—');
    r.push(bp?.name ?? '—');
    out.push(row([s.id, ...clients.map((c) => cell(t.get(s.id, c, 'cpuPer100k'), 'cpu', 0, spread)), ...r]));
  }

  // ---- RPC latency
  const rpc = scen.filter((s) => s.kind === 'rpc' || s.kind === 'latency');
  if (rpc.length) {
    out.push('', `### Latency (ms): RPC round trip, and publish → delivery at a fixed rate; p50 / p99, median over ${rounds}`, '');
    const latHdr = [...(hasOurs ? ['ours p50 / best peer p50'] : []), 'best peer (p50)'];
    out.push(row(['scenario', ...clients, ...latHdr]));
    out.push(row(['---', ...clients.map(() => '--:'), ...latHdr.map(() => '--:')]));
    for (const s of rpc) {
      const bp = bestPeer(t, clients, s.id, 'p50Ms', false);
      const ours = t.get(s.id, 'ours', 'p50Ms').med;
      const r: string[] = [];
      if (hasOurs) r.push(bp ? fmtNum(ours / bp.v, 'ratio') : '—');
      r.push(bp?.name ?? '—');
      out.push(
        row([
          s.id,
          ...clients.map((c) => {
            const p50 = t.get(s.id, c, 'p50Ms');
            const p99 = t.get(s.id, c, 'p99Ms');
            return p50.count ? `${fmtNum(p50.med, 'ms')} / ${fmtNum(p99.med, 'ms')}` : '—';
          }),
          ...r,
        ]),
      );
    }
  }

  // ---- broker CPU and noise
  out.push(
    '',
    '### Broker CPU (beam.smp user+sys s per 100k messages, median) and noise',
    '',
    '"other cores" is the machine\'s busy CPU during the timed window minus client, broker and RPC sidecar, in cores (median over all runs of the scenario; this machine has ' +
      `${meta.cpus} cores). "peak RSS" is the client process's maximum resident set (MB, median).`,
    '',
  );
  out.push(row(['scenario', ...clients.map((c) => `${c} broker`), 'other cores (min–max)', ...clients.map((c) => `${c} peak RSS`)]));
  out.push(row(['---', ...clients.map(() => '--:'), '--:', ...clients.map(() => '--:')]));
  for (const s of scen) {
    const o = t.all(s.id, 'otherCores');
    out.push(
      row([
        s.id,
        ...clients.map((c) => fmtNum(t.get(s.id, c, 'brokerCpuPer100k').med, 'cpu')),
        o.count ? `${o.med.toFixed(2)} (${o.min.toFixed(2)}–${o.max.toFixed(2)})` : '—',
        ...clients.map((c) => fmtNum(t.get(s.id, c, 'maxRssMB').med, 'mb')),
      ]),
    );
  }
  const failures = results.filter((r) => !r.ok);
  if (failures.length) {
    out.push('', `### Failed runs (${failures.length})`, '');
    for (const f of failures.slice(0, 20)) out.push(`- round ${f.round} ${f.scenario} ${f.client}: ${f.error ?? '?'}`);
  }
  if (meta.descriptions) {
    out.push('', 'Clients:', '');
    for (const c of clients) out.push(`- **${c}**: ${meta.descriptions[c] ?? '?'}`);
  }
  if (meta.notes.length) out.push('', ...meta.notes.map((n) => `Note: ${n}`));
  if (meta.settle) {
    const waits = results.map((r) => r.settleMs ?? 0);
    const busy = results.map((r) => r.busyBefore ?? Number.NaN);
    out.push(
      '',
      `Before each run the runner waited (bounded) for the machine's busy CPU to drop below ${meta.settle} cores: ` +
        `median wait ${median(waits).toFixed(0)} ms, max ${Math.max(...waits).toFixed(0)} ms; ` +
        `busy cores just before a run: median ${median(busy).toFixed(2)}, max ${Math.max(...busy.filter(Number.isFinite)).toFixed(2)}.`,
    );
  }
  out.push(
    '',
    meta.warmup === undefined
      ? 'Warm-up: 50 untimed RPC calls; none for the other scenarios (runs before bench/lib/warmup.ts).'
      : meta.warmup > 0
        ? `Warm-up: before its timed window each run passed ${Math.round(meta.warmup * 100)}% of its message count (RPC: at least ${MIN_RPC_WARMUP} calls) through the same client, untimed, on a side queue (bench/lib/warmup.ts); every client alike.`
        : 'Warm-up: none (--warmup 0): the timed windows include V8 compiling each client\'s code.',
  );
  out.push(
    '',
    `${meta.command} — ${meta.started}, ${meta.elapsedS.toFixed(0)} s, scale ${meta.scale}, node ${meta.node}, ${meta.cpus}× ${meta.cpuModel}`,
  );
  return out.join('\n');
}

// ------------------------------------------------------------------ SVG chart

const COLORS: Readonly<Record<string, string>> = {
  ours: '#d62728',
  amqplib: '#1f77b4',
  'amqp-client': '#2ca02c',
  'rabbitmq-client': '#9467bd',
};
const EXTRA = ['#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Two panels of grouped horizontal bars, one group per scenario: throughput ÷
 * raw baseline (higher is better, 1 = the ceiling), and client CPU per message
 * ÷ the best peer's (lower is better, 1 = best peer).
 */
export function renderSvg(meta: Meta, results: RunResult[]): string {
  const t = new Table(results);
  const bars = meta.clients.filter((c) => c !== 'raw');
  const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id) && s.group !== 'footprint');
  const color = (c: string, i: number): string => COLORS[c] ?? EXTRA[i % EXTRA.length]!;
  const barH = 7;
  const groupH = bars.length * barH + 8;
  const top = 70;
  const labelW = 130;
  const panelW = 330;
  const gap = 40;
  const width = labelW + 2 * panelW + gap + 30;
  const height = top + scen.length * groupH + 40;

  type Panel = { title: string; value: (s: string, c: string) => number; ref: string };
  const panels: Panel[] = [
    {
      title: 'throughput ÷ raw baseline (higher is better)',
      value: (s, c) => t.get(s, c, 'rate').med / t.get(s, 'raw', 'rate').med,
      ref: 'raw',
    },
    {
      title: 'client CPU per message ÷ best peer (lower is better)',
      value: (s, c) => t.get(s, c, 'cpuPer100k').med / (bestPeer(t, meta.clients, s, 'cpuPer100k', false)?.v ?? Number.NaN),
      ref: 'best peer',
    },
  ];

  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
  );
  o.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  o.push(
    `<text x="10" y="18" font-size="13" font-weight="bold">amqp091 benchmark — medians over ${meta.rounds} round(s), scale ${meta.scale}</text>`,
  );
  // legend
  let lx = 10;
  for (const [i, c] of bars.entries()) {
    o.push(`<rect x="${lx}" y="28" width="10" height="10" fill="${color(c, i)}"/>`);
    o.push(`<text x="${lx + 14}" y="37">${esc(c)}</text>`);
    lx += 24 + c.length * 6;
  }
  for (const [pi, p] of panels.entries()) {
    const x0 = labelW + pi * (panelW + gap);
    let maxV = 1.2;
    for (const s of scen) for (const c of bars) {
      const v = p.value(s.id, c);
      if (Number.isFinite(v)) maxV = Math.max(maxV, v);
    }
    maxV = Math.min(maxV, 8);
    const sx = (v: number): number => x0 + (Math.min(v, maxV) / maxV) * panelW;
    o.push(`<text x="${x0}" y="${top - 14}" font-weight="bold">${esc(p.title)}</text>`);
    // grid
    const step = maxV > 4 ? 1 : maxV > 2 ? 0.5 : 0.25;
    for (let g = 0; g <= maxV + 1e-9; g += step) {
      const gx = sx(g);
      o.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${top + scen.length * groupH}" stroke="#eee"/>`);
      o.push(`<text x="${gx.toFixed(1)}" y="${top + scen.length * groupH + 12}" text-anchor="middle" fill="#666">${g.toFixed(g % 1 ? 2 : 0)}</text>`);
    }
    const one = sx(1);
    o.push(`<line x1="${one.toFixed(1)}" y1="${top - 6}" x2="${one.toFixed(1)}" y2="${top + scen.length * groupH}" stroke="#333" stroke-dasharray="3,2"/>`);
    o.push(`<text x="${one.toFixed(1)}" y="${top + scen.length * groupH + 24}" text-anchor="middle" fill="#333">1 = ${esc(p.ref)}</text>`);
    for (const [si, s] of scen.entries()) {
      const gy = top + si * groupH;
      if (pi === 0) o.push(`<text x="${labelW - 8}" y="${gy + groupH / 2 + 3}" text-anchor="end">${esc(s.id)}</text>`);
      for (const [ci, c] of bars.entries()) {
        const v = p.value(s.id, c);
        const y = gy + 4 + ci * barH;
        if (!Number.isFinite(v)) continue;
        const w = Math.max(0.5, sx(v) - x0);
        o.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${barH - 1}" fill="${color(c, ci)}"><title>${esc(`${s.id} ${c}: ${v.toFixed(2)}`)}</title></rect>`);
        o.push(`<text x="${(x0 + w + 2).toFixed(1)}" y="${y + barH - 1}" font-size="7" fill="#444">${v.toFixed(2)}${v > maxV ? '+' : ''}</text>`);
      }
    }
  }
  o.push('</svg>');
  return o.join('\n') + '\n';
}
