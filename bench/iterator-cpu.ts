// `npx tsx bench/iterator-cpu.ts [N] [rounds]`: client CPU per consumed
// message, the async iterator (`channel.consume`) next to the callback
// (`basicConsume`), for consume-ack and consume-noack with 16 B and 4 KiB
// bodies. Each round fills a queue with N messages (confirmed, not timed),
// then times the consumption alone with process.cpuUsage(); the forms are
// interleaved round by round and the median of the rounds is reported,
// with the iterator / callback ratio (goal: at most 1.10). HWM=n sets the
// iterator's highWaterMark (default 1000).

import { connect, type Channel } from '../src/index.js';
import { fillQueue } from './lib/fill.js';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const [t, p] = await connect({ host: '127.0.0.1', port: Number(process.env.AMQP_PORT ?? 5672) });
const ch = await p.channel();

/** CPU microseconds per message to consume N messages from `queue`. */
async function consume(c: Channel, queue: string, form: 'callback' | 'iterator', noAck: boolean): Promise<number> {
  await c.basicQos({ prefetchCount: 1000 });
  const cpu0 = process.cpuUsage();
  if (form === 'callback') {
    let n = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const { consumerTag } = await c.basicConsume((ch2, _body, env) => {
      if (!noAck) ch2.basicClientAck(env.deliveryTag);
      if (++n === N) done();
    }, { queueName: queue, noAck });
    await finished;
    await c.basicCancel(consumerTag);
  } else {
    const consumer = await c.consume(queue, { noAck, highWaterMark: Number(process.env.HWM ?? 1000) });
    let n = 0;
    for await (const msg of consumer) {
      msg.ack();
      if (++n === N) break;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / N;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const size of [16, 4096]) {
  for (const noAck of [false, true]) {
    const body = Buffer.alloc(size, 7);
    const results: Record<'callback' | 'iterator', number[]> = { callback: [], iterator: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const form of r % 2 === 0 ? (['callback', 'iterator'] as const) : (['iterator', 'callback'] as const)) {
        const { queue } = await ch.queueDeclare('', { exclusive: true });
        await fillQueue(p, queue, body, N);
        const c = await p.channel();
        results[form].push(await consume(c, queue, form, noAck));
        await c.close();
        await ch.queueDelete(queue);
      }
    }
    const cb = median(results.callback);
    const it = median(results.iterator);
    const range = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
    rows.push(
      `| consume-${noAck ? 'noack' : 'ack'}-${size === 16 ? '16B' : '4KiB'} | ${cb.toFixed(2)} (${range(results.callback)}) | ${it.toFixed(2)} (${range(results.iterator)}) | ${(it / cb).toFixed(2)} |`,
    );
  }
}
console.log(`client CPU µs per message, median of ${ROUNDS} rounds of ${N} messages (min–max)\n`);
console.log('| scenario | callback | iterator | iterator / callback |\n|---|---|---|---|');
for (const r of rows) console.log(r);
await p.close();
t.close();
