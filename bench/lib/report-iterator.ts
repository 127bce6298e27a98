// The table of our client's other forms next to `ours` (issue 12: the
// `for await` iterator over channel.consume() against the basicConsume()
// callback, client CPU per message; goal: at most 1.10×). The ratio is the
// ratio of medians, with the min–max of the same ratio taken within each
// round, where both forms ran back to back on the same machine state.

import type { RunResult } from './scenarios.js';
import { SCENARIOS } from './scenarios.js';
import { Table, agg, fmtNum, isVariant, row, type Meta } from './report.js';
import { isPaired } from './paired.js';

/** The most a variant may cost over the callback form, client CPU per message. */
const GOAL = 1.1;

type Agg = ReturnType<typeof agg>;

/** A median with its min–max (when there is more than one value). */
const cpuCell = (a: Agg): string => `${fmtNum(a.med, 'cpu')}${a.count > 1 ? ` (${fmtNum(a.min, 'cpu')}–${fmtNum(a.max, 'cpu')})` : ''}`;

/** The ratio of the medians, with the min–max of the per-round (or per-run) ratios. */
const ratioCell = (ratio: number, perRound: Agg): string =>
  `${fmtNum(ratio, 'ratio')}${perRound.count > 1 ? ` (${fmtNum(perRound.min, 'ratio')}–${fmtNum(perRound.max, 'ratio')})` : ''}`;

const goalCell = (ratio: number): string => (Number.isFinite(ratio) ? (ratio <= GOAL ? 'met' : 'not met') : '—');

export function renderVariants(meta: Meta, results: RunResult[]): string[] {
  const t = new Table(results);
  const out: string[] = [];
  for (const variant of meta.clients.filter((c) => isVariant(c) && !isPaired(c))) {
    const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id) && t.get(s.id, variant, 'cpuPer100k').count > 0);
    if (scen.length === 0 || !meta.clients.includes('ours')) continue;
    out.push(
      `### ${variant} next to ours`,
      '',
      `Client CPU s/100k messages and messages/s, medians (min–max); ratio ${variant} / ours of the medians, then the min–max of the ratio within each round. Goal: CPU ratio ≤ ${GOAL.toFixed(2)}.`,
      '',
      row(['scenario', 'ours CPU', `${variant} CPU`, 'CPU ratio (per-round)', 'goal', 'ours msg/s', `${variant} msg/s`]),
      row(['---', '---:', '---:', '---:', '---', '---:', '---:']),
    );
    for (const s of scen) {
      const base = t.get(s.id, 'ours', 'cpuPer100k');
      const other = t.get(s.id, variant, 'cpuPer100k');
      const ratio = other.med / base.med;
      const perRound = agg(roundRatios(results, s.id, variant));
      out.push(
        row([s.id, cpuCell(base), cpuCell(other), ratioCell(ratio, perRound), goalCell(ratio), fmtNum(t.get(s.id, 'ours', 'rate').med, 'rate'), fmtNum(t.get(s.id, variant, 'rate').med, 'rate')]),
      );
    }
  }
  return out;
}

/**
 * The same comparison from the paired runs (bench/lib/paired.ts): both
 * forms in one process, taking turns; the ratio of the medians, then the
 * min–max of the ratio within each run.
 */
export function renderPaired(meta: Meta, results: RunResult[]): string[] {
  const t = new Table(results);
  const out: string[] = [];
  for (const paired of meta.clients.filter(isPaired)) {
    const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id) && t.get(s.id, paired, 'cpuPer100k').count > 0);
    if (scen.length === 0) continue;
    out.push(
      `### ${paired}: the same two forms in one process`,
      '',
      `Each run consumes its messages in chunks, the callback (ours) and the variant taking turns (ABBA), so both see the same heap and the same stretch of the broker's pace. Client CPU s/100k messages, medians over the runs (min–max); ratio of the medians, then its min–max within each run. Goal: CPU ratio ≤ ${GOAL.toFixed(2)}.`,
      '',
      row(['scenario', 'ours CPU (paired)', 'variant CPU (paired)', 'CPU ratio (per-run)', 'goal']),
      row(['---', '---:', '---:', '---:', '---']),
    );
    for (const s of scen) {
      const base = t.extra(s.id, paired, 'baseCpuPer100k');
      const other = t.get(s.id, paired, 'cpuPer100k');
      const ratio = other.med / base.med;
      const perRun = agg(results.filter((r) => r.ok && r.scenario === s.id && r.client === paired).map((r) => r.cpuPer100k / (r.extra?.baseCpuPer100k ?? Number.NaN)));
      out.push(row([s.id, cpuCell(base), cpuCell(other), ratioCell(ratio, perRun), goalCell(ratio)]));
    }
  }
  return out;
}

/** variant CPU / ours CPU in each round where both succeeded. */
function roundRatios(results: RunResult[], scenario: string, variant: string): number[] {
  const ok = results.filter((r) => r.ok && r.scenario === scenario);
  const out: number[] = [];
  for (const v of ok.filter((r) => r.client === variant)) {
    const base = ok.find((r) => r.client === 'ours' && r.round === v.round);
    if (base !== undefined) out.push(v.cpuPer100k / base.cpuPer100k);
  }
  return out;
}
