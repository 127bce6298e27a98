// `npx tsx --expose-gc bench/recovery-memory.ts [N]`: does recovery leak?
// One connection with recovery on, through a loopback proxy that resets the
// link N times (default 100); each time the channel, a queue, a binding and
// a consumer are replayed and a message goes round. Prints heap and RSS
// after GC at the start, after 10 and after N recoveries, and the recovery
// time per fault (median, max), plus the process's live handles at the end.

import { connect, type Envelope } from '../src/index.js';
import { startProxy } from '../test/support/tcp-proxy.js';

const N = Number(process.argv[2] ?? 100);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function mem(): { heapMiB: number; rssMiB: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heapMiB: +(m.heapUsed / 2 ** 20).toFixed(2), rssMiB: +(m.rss / 2 ** 20).toFixed(1) };
}

const proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: Number(process.env.AMQP_PORT ?? 5672) });
const [t, p] = await connect({ host: '127.0.0.1', port: proxy.port, recovery: { initialDelay: 0, maxDelay: 10 } });
const ch = await p.channel();
await ch.confirmSelect();
await ch.exchangeDeclare('amqp091-bench-recovery', 'fanout', { autoDelete: false });
const { queue } = await ch.queueDeclare(process.env.QUEUE ?? '', { exclusive: true });
await ch.queueBind(queue, 'amqp091-bench-recovery', '');
let received = 0;
await ch.basicConsume((c, _b, env: Envelope) => {
  received++;
  c.basicClientAck(env.deliveryTag);
}, { queueName: queue });

const times: number[] = [];
const samples: Record<string, { heapMiB: number; rssMiB: number }> = { start: mem() };
for (let i = 1; i <= N; i++) {
  const recovered = new Promise<number>((resolve) => p.once('recovered', (info) => resolve(info.downtimeMs)));
  proxy.cut();
  times.push(await recovered);
  await ch.publish('ping', 'amqp091-bench-recovery', '');
  while (received < i) await new Promise((r) => setTimeout(r, 1));
  if (i === 10) samples.after10 = mem();
}
samples[`after${N}`] = mem();
times.sort((a, b) => a - b);
await ch.exchangeDelete('amqp091-bench-recovery');
await p.close();
t.close();
await proxy.close();
console.log(
  JSON.stringify(
    {
      recoveries: N,
      received,
      downtimeMs: { median: times[Math.floor(times.length / 2)], max: times[times.length - 1] },
      memory: samples,
      handlesLeft: process.getActiveResourcesInfo(),
    },
    null,
    2,
  ),
);
