// `npx tsx --expose-gc bench/recovery-heap-diff.ts`: which heap objects
// grow with recoveries. Takes a heap snapshot after 30 link resets (through
// a loopback proxy, a server-named queue and a consumer replayed each time)
// and another after 300 more, and prints the node kinds whose count grew by
// 30 or more (0.1 per recovery). Counts are kept as one JSON string between
// the snapshots, so the measurement itself adds almost nothing.

import { readFileSync, rmSync } from 'node:fs';
import * as v8 from 'node:v8';
import { connect } from '../src/index.js';
import { startProxy } from '../test/support/tcp-proxy.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Node counts by kind (strings by type only), as a JSON string of [kind, count] pairs. */
function counts(): string {
  gc!();
  gc!();
  const file = v8.writeHeapSnapshot('/tmp/amqp091-recovery.heapsnapshot');
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  rmSync(file);
  const width = snap.snapshot.meta.node_fields.length;
  const types = snap.snapshot.meta.node_types[0];
  const m = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i]!]!;
    const key = type.includes('string') ? type : `${type}:${snap.strings[snap.nodes[i + 1]!]}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return JSON.stringify([...m]);
}

const proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: 5672 });
const [t, p] = await connect({ host: '127.0.0.1', port: proxy.port, recovery: { initialDelay: 0, maxDelay: 10 } });
const ch = await p.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });
await ch.basicConsume(() => undefined, { queueName: queue });

async function resets(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const recovered = new Promise((resolve) => p.once('recovered', resolve));
    proxy.cut();
    await recovered;
  }
}

await resets(30);
const before = counts();
await resets(300);
const after = counts();
const a = new Map<string, number>(JSON.parse(before) as [string, number][]);
const grown = (JSON.parse(after) as [string, number][])
  .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
  .filter(([, d]) => d >= 30)
  .sort((x, y) => y[1] - x[1]);
console.log(grown);
await p.close();
t.close();
await proxy.close();
