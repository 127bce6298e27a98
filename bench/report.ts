// `tsx bench/report.ts bench/results/<timestamp>.json [--chart]`
// Re-render the markdown tables (and with --chart docs/performance.svg) from a
// saved run, e.g. one that was interrupted (the runner saves after every run).

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { peersView, renderReport } from './lib/report-all.js';
import { renderSvg, type Meta } from './lib/report.js';
import type { RunResult } from './lib/scenarios.js';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: tsx bench/report.ts <results.json> [--chart]');
  process.exit(2);
}
const { meta, results } = JSON.parse(readFileSync(file, 'utf8')) as { meta: Meta; results: RunResult[] };
console.log(renderReport(meta, results));
if (process.argv.includes('--chart')) {
  const svg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'performance.svg');
  writeFileSync(svg, renderSvg(peersView(meta), results));
  console.error(`chart: ${svg}`);
}
