// The whole markdown report of a run, shared by the runner (bench/run.ts)
// and the re-renderer (bench/report.ts): ours against the peers, then our
// client's other forms against ours.

import { renderExtras, renderGoals } from './report-goals.js';
import { renderPaired, renderVariants } from './report-iterator.js';
import { isVariant, renderTables, type Meta } from './report.js';
import type { RunResult } from './scenarios.js';

/** The run as the peer comparison sees it: without our client's other forms. */
export function peersView(meta: Meta): Meta {
  return { ...meta, clients: meta.clients.filter((c) => !isVariant(c)) };
}

export function renderReport(meta: Meta, results: RunResult[]): string {
  const vsPeers = peersView(meta);
  return [renderTables(vsPeers, results), '', ...renderExtras(vsPeers, results), '', ...renderGoals(vsPeers, results), '', ...renderVariants(meta, results), '', ...renderPaired(meta, results)].join(
    '\n',
  );
}
