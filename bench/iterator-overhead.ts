// `npx tsx bench/iterator-overhead.ts [N] [rounds]`: what the async iterator
// (`channel.consume()`) costs per message on top of a callback, without the
// broker's noise. Deliveries are pushed straight into the iterator's
// Consumer (src/consumer-iterator.ts) in bursts of K per macrotask, as socket
// reads hand them over, and taken with `for await` + msg.ack(); the callback
// form receives the same bursts. A third row is the language's own floor: a
// `for await` over the smallest possible async iterator. Medians of the
// interleaved rounds, in ns per message.
//
// Why in-process: in `npm run bench` the client's CPU per message at 16 B
// moves ±20–30% with how many deliveries each socket read brings (the
// broker's pace), more than the iterator's whole cost; this measures that
// cost alone, to compare with the client's CPU per message there.

import { Consumer } from '../src/consumer-iterator.js';
import { ConsumerLifecycle } from '../src/consumer-state.js';
import { Envelope } from '../src/framing/envelope.js';
import type { BasicProperties } from '../generated/basic.js';
import { forAwaitFloor } from './lib/forawait-floor.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const BURSTS = [1, 10, 100];

const body = Buffer.alloc(16);
const properties: BasicProperties = {};
let acks = 0;
const settler = { noAck: false, ack: (_deliveryTag: number): void => void acks++, nack(): void {}, reject(): void {} };
const host = { settler, outstanding: () => true, requeue(): void {}, pauseReading(): void {}, resumeReading(): void {} };
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const envelope = (tag: number): Envelope => new Envelope('ctag', tag, '', 'q', false);

/** Feed N deliveries in bursts of k, one burst per macrotask, to `deliver`. */
async function feed(k: number, deliver: (e: Envelope) => void): Promise<void> {
  for (let tag = 1; tag <= N; ) {
    for (let i = 0; i < k && tag <= N; i++) deliver(envelope(tag++));
    await nextTurn();
  }
}

async function callback(k: number): Promise<void> {
  await feed(k, (e) => settler.ack(e.deliveryTag));
}

async function iterator(k: number): Promise<void> {
  const life = new ConsumerLifecycle('ctag', async () => undefined);
  const consumer = new Consumer(life, host, { noAck: false, autoSettle: false, highWaterMark: Number.MAX_SAFE_INTEGER, queue: 'q' });
  const fed = feed(k, (e) => consumer.push(null, body, e, properties));
  let n = 0;
  for await (const msg of consumer) {
    msg.ack();
    if (++n === N) break;
  }
  await fed;
}

/** The floor: `for await` over the plainest iterator of ready values (bench/lib/forawait-floor.ts), fed the same way. */
async function floor(k: number): Promise<void> {
  const feedFloor = forAwaitFloor<Envelope>();
  const fed = feed(k, feedFloor.push);
  let n = 0;
  for await (const e of feedFloor.iterable) {
    settler.ack(e.deliveryTag);
    if (++n === N) break;
  }
  await fed;
}

const FORMS = { callback, iterator, floor } as const;
type Form = keyof typeof FORMS;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`${N} messages per run, ${ROUNDS} interleaved rounds, ns per message (median)\n`);
console.log('| burst | callback | iterator | for-await floor | iterator − callback | iterator − floor |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const k of BURSTS) {
  const ns: Record<Form, number[]> = { callback: [], iterator: [], floor: [] };
  for (let r = 0; r <= ROUNDS; r++) {
    for (const form of Object.keys(FORMS) as Form[]) {
      const t0 = process.hrtime.bigint();
      await FORMS[form](k);
      // Round 0 only warms the code up.
      if (r > 0) ns[form].push(Number(process.hrtime.bigint() - t0) / N);
    }
  }
  const [c, it, fl] = [median(ns.callback), median(ns.iterator), median(ns.floor)];
  console.log(`| ${k} | ${c.toFixed(0)} | ${it.toFixed(0)} | ${fl.toFixed(0)} | ${(it - c).toFixed(0)} | ${(it - fl).toFixed(0)} |`);
}
if (acks === 0) throw new Error('nothing was acked');
