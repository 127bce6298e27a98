// `npx tsx bench/queue-name-length.ts [N] [lengths] [rounds]`: how fast the
// broker delivers N small no-ack messages from queues whose names are
// `lengths` bytes long (default 40,50,60,63,64,65,66,70,80,100), consumed
// with our client's basicConsume() callback. On the default exchange the
// queue name is also each delivery's routing key.
//
// Why it exists: RabbitMQ delivered at about half the rate once the name was
// longer than 64 bytes (docs/performance.md, run L), which had made the
// benchmark's longer-named runs slower for reasons that had nothing to do
// with the client. The benchmark keeps its queue names short and of one
// length per scenario (bench/worker.ts, runPrefix).

import { RawConnection, parseUrl, waitDepth } from './lib/raw.js';
import { fromUrl } from '../src/index.js';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const N = Number(process.argv[2] ?? 100_000);
const LENGTHS = (process.argv[3] ?? '40,50,60,63,64,65,66,70,80,100').split(',').map(Number);
const ROUNDS = Number(process.argv[4] ?? 2);

const side = await RawConnection.open(parseUrl(url));
const [transport, protocol] = await fromUrl(url);
const body = Buffer.alloc(16, 97);
let reads = 0;
transport.socket.on('data', () => reads++);

async function fill(queue: string): Promise<void> {
  await side.queueDeclare(queue, { args: { 'x-expires': 60_000 } });
  await side.publishMany(queue, body, N, { confirm: false, window: 0 });
  await waitDepth(side, queue, N, 120_000);
}

/** Consume the queue's N messages; msg/s, client CPU µs per message, socket reads per 100 messages. */
async function drain(queue: string): Promise<[number, number, number]> {
  const ch = await protocol.channel();
  const cpu0 = process.cpuUsage();
  const reads0 = reads;
  const t0 = performance.now();
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    ch.basicConsume(() => void (++got === N && resolve()), { queueName: queue, noAck: true }).catch(reject);
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await ch.close();
  return [(N * 1000) / ms, (cpu.user + cpu.system) / N, ((reads - reads0) * 100) / N];
}

const rows = new Map<number, string[]>(LENGTHS.map((len) => [len, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const len of LENGTHS) {
      const queue = `qlen.${process.pid}.${round}.`.padEnd(len, 'q');
      if (queue.length !== len) throw new Error(`cannot make a ${len}-byte queue name (the shortest is ${queue.length})`);
      await fill(queue);
      try {
        const [rate, cpuUs, readsPer100] = await drain(queue);
        rows.get(len)!.push(`${(rate / 1000).toFixed(0)}k/s, ${cpuUs.toFixed(2)} µs, ${readsPer100.toFixed(1)} reads`);
      } finally {
        await side.queueDelete(queue);
      }
    }
  }
} finally {
  await side.close();
  await protocol.close();
  transport.close();
}

console.log(`${N} no-ack 16 B deliveries per queue, ${ROUNDS} rounds: msg/s, client CPU per message, socket reads per 100 messages\n`);
console.log(`| name bytes | ${Array.from({ length: ROUNDS }, (_, r) => `round ${r + 1}`).join(' | ')} |`);
console.log(`| ---: | ${Array.from({ length: ROUNDS }, () => '---').join(' | ')} |`);
for (const [len, cells] of rows) console.log(`| ${len} | ${cells.join(' | ')} |`);
