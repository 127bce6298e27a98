// A resilient publisher and consumer: each on its own connection to every
// node of a cluster, with recovery on. The publisher keeps 100 confirmed
// publishes in flight and publishes again what failed with a retriable
// error (the link dropped before the broker confirmed it); the consumer acks
// by hand. Stop a node, close connections, kill one: both carry on.
//
//   npm run test:cluster -- ... (or bash test/support/cluster.sh up), then
//   AMQP_HOSTS=127.0.0.1:5673,127.0.0.1:5674,127.0.0.1:5675 npx tsx examples/resilient.ts [seconds]
//
// Prints one line per second and a summary: what was confirmed and never
// received (lost) must be 0.
import { AmqpClosedConnection, PublishFailed, connect } from '../src/index.js';

const hosts = (process.env.AMQP_HOSTS ?? '127.0.0.1:5673,127.0.0.1:5674,127.0.0.1:5675').split(',');
const seconds = Number(process.argv[2] ?? 20);
const queue = `resilient-${process.pid}`;

const options = { hosts, login: 'guest', password: 'guest', recovery: true, heartbeat: 5 } as const;
const [pt, publisher] = await connect({ ...options, onError: (e) => console.error('publisher:', e.message) });
const [ct, consumer] = await connect({ ...options, hosts: [...hosts.slice(1), hosts[0]!], onError: (e) => console.error('consumer:', e.message) });
for (const [name, p] of [['publisher', publisher], ['consumer', consumer]] as const) {
  p.on('disconnected', (e) => console.log(`${name}: disconnected (${e.message})`));
  p.on('recovered', (i) => console.log(`${name}: recovered on ${i.host}:${i.port} after ${i.downtimeMs} ms (${i.attempts} attempt(s))`));
}

const pch = await publisher.channel();
await pch.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
await pch.confirmSelect();
const cch = await consumer.channel();
await cch.basicQos({ prefetchCount: 200 });
const received = new Set<number>();
await cch.basicConsume((ch, body, envelope) => {
  received.add(Number(body.toString()));
  ch.basicClientAck(envelope.deliveryTag);
}, { queueName: queue });

const confirmed = new Set<number>();
const retry: number[] = [];
let next = 0;
let inFlight = 0;
let republished = 0;
const until = Date.now() + seconds * 1000;
const ticker = setInterval(() => console.log(`confirmed ${confirmed.size}, received ${received.size}, in flight ${inFlight}`), 1000);
while (Date.now() < until) {
  if (inFlight >= 100) {
    await new Promise((r) => setTimeout(r, 1));
    continue;
  }
  const id = retry.shift() ?? next++;
  inFlight++;
  pch.publish(String(id), '', queue, { deliveryMode: 2 }).then(
    () => {
      inFlight--;
      confirmed.add(id);
    },
    (err: unknown) => {
      inFlight--;
      if ((err instanceof AmqpClosedConnection && err.retriable) || err instanceof PublishFailed) {
        republished++;
        retry.push(id);
      } else console.error('publish failed for good:', err);
    },
  );
  if (next % 100 === 0) await new Promise((r) => setImmediate(r));
}
while (inFlight > 0 || retry.length > 0) await new Promise((r) => setTimeout(r, 10));
const deadline = Date.now() + 30_000;
while ([...confirmed].some((id) => !received.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
clearInterval(ticker);
const lost = [...confirmed].filter((id) => !received.has(id)).length;
console.log(`summary: confirmed ${confirmed.size}, received ${received.size}, republished ${republished}, lost ${lost}`);
await pch.queueDelete(queue);
await publisher.close();
await consumer.close();
pt.close();
ct.close();
process.exitCode = lost === 0 ? 0 : 1;
