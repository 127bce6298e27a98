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
 * The same comparison from the paired runs (bench/lib/paired.ts): the
 * forms in one process, taking turns; the ratio of the medians, then the
 * min–max of the ratio within each run. The floor is `for await` over the
 * plainest async iterator, measured in the same runs: no iterator can cost
 * less than it over the callback.
 */
export function renderPaired(meta: Meta, results: RunResult[]): string[] {
  const t = new Table(results);
  const out: string[] = [];
  for (const paired of meta.clients.filter(isPaired)) {
    const scen = SCENARIOS.filter((s) => meta.scenarios.includes(s.id) && t.get(s.id, paired, 'cpuPer100k').count > 0);
    if (scen.length === 0) continue;
    out.push(
      `### ${paired}: the forms in one process`,
      '',
      `Each run consumes its messages in chunks, the callback (ours), the variant and the floor (\`for await\` over the plainest async iterator, fed by the same callback) taking turns (ABC CBA), so all see the same heap and the same stretch of the broker's pace. Client CPU s/100k messages, medians over the runs (min–max); ratios of the medians, then their min–max within each run. Goal: variant / ours ≤ ${GOAL.toFixed(2)}; floor / ours is what the language's loop alone costs.`,
      '',
      row(['scenario', 'ours CPU', 'variant CPU', 'floor CPU', 'variant / ours (per-run)', 'floor / ours (per-run)', 'variant / floor', 'goal']),
      row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---']),
    );
    for (const s of scen) {
      const runs = results.filter((r) => r.ok && r.scenario === s.id && r.client === paired);
      const perRun = (f: (r: RunResult) => number): Agg => agg(runs.map((r) => f(r) / (r.extra?.baseCpuPer100k ?? Number.NaN)));
      const base = t.extra(s.id, paired, 'baseCpuPer100k');
      const floor = t.extra(s.id, paired, 'floorCpuPer100k');
      const other = t.get(s.id, paired, 'cpuPer100k');
      const ratio = other.med / base.med;
      out.push(
        row([
          s.id,
          cpuCell(base),
          cpuCell(other),
          cpuCell(floor),
          ratioCell(ratio, perRun((r) => r.cpuPer100k)),
          ratioCell(floor.med / base.med, perRun((r) => r.extra?.floorCpuPer100k ?? Number.NaN)),
          fmtNum(other.med / floor.med, 'ratio'),
          goalCell(ratio),
        ]),
      );
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
