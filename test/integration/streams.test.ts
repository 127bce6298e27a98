// Stream queues (x-queue-type: stream) on the real broker: the `offset`
// option ('first', a number, a Date, 'next', { interval }) sent as the
// consumer argument x-stream-offset, and Message.streamOffset read from
// each delivery's x-stream-offset header. Each test's stream is deleted.
import { afterEach, describe, expect, it } from 'vitest';
import { Properties, typed, type Channel, type Consumer } from '../../src/index.js';
import { streamOffsetArgument, streamOffsetOf } from '../../src/stream-offset.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { sleep } from '../support/async.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A session with a fresh stream queue (deleted after the test) and a confirm channel to publish on. */
async function withStream(): Promise<{ s: Session; q: string; pub: Channel }> {
  const s = await openSession();
  const q = uniqueName('stream');
  await s.channel.queueDeclare(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
  cleanups.push(async () => {
    const ch = await s.protocol.channel();
    await ch.queueDelete(q);
    await s.close();
  });
  const pub = await s.protocol.channel();
  await pub.confirmSelect();
  return { s, q, pub };
}

async function publishAll(pub: Channel, q: string, bodies: string[]): Promise<void> {
  await Promise.all(bodies.map((b) => pub.publish(b, '', q)));
}

/** Take `n` messages (acked) and leave the loop. */
async function take(c: Consumer, n: number): Promise<{ body: string; offset: number | bigint | undefined }[]> {
  const out: { body: string; offset: number | bigint | undefined }[] = [];
  if (n === 0) return out;
  for await (const m of c) {
    out.push({ body: m.body.toString(), offset: m.streamOffset });
    m.ack();
    if (out.length === n) break;
  }
  return out;
}

const range = (from: number, to: number, p = 'm'): string[] => Array.from({ length: to - from }, (_, i) => `${p}${from + i}`);

describe('stream queues: offset and streamOffset', () => {
  it("'first' reads from the start; each message carries its streamOffset", async () => {
    const { s, q, pub } = await withStream();
    await publishAll(pub, q, range(0, 10));
    const c = await s.channel.consume(q, { prefetch: 100, offset: 'first' });
    const got = await take(c, 10);
    expect(got.map((g) => g.body)).toEqual(range(0, 10));
    expect(got.map((g) => g.offset)).toEqual(range(0, 10).map((_, i) => i));
    expect(c.state).toBe('cancelled');
  });

  it('a numeric offset starts at that offset', async () => {
    const { s, q, pub } = await withStream();
    await publishAll(pub, q, range(0, 10));
    const c = await s.channel.consume(q, { prefetch: 100, offset: 6 });
    const got = await take(c, 4);
    expect(got.map((g) => g.body)).toEqual(['m6', 'm7', 'm8', 'm9']);
    expect(got[0]!.offset).toBe(6);
  });

  it('a Date starts at the first chunk written at or after it (whole seconds)', async () => {
    const { s, q, pub } = await withStream();
    await publishAll(pub, q, range(0, 3, 'old'));
    await sleep(1100);
    const since = new Date();
    await sleep(1100);
    await publishAll(pub, q, range(0, 3, 'new'));
    const c = await s.channel.consume(q, { prefetch: 100, offset: since });
    const got = await take(c, 3);
    expect(got.map((g) => g.body)).toEqual(['new0', 'new1', 'new2']);
    expect(got[0]!.offset).toBe(3);
  });

  it("'next' skips what is stored and gets only what is published afterwards", async () => {
    const { s, q, pub } = await withStream();
    await publishAll(pub, q, range(0, 5, 'old'));
    const c = await s.channel.consume(q, { prefetch: 100, offset: 'next' });
    await sleep(100);
    await publishAll(pub, q, range(0, 2, 'new'));
    const got = await take(c, 2);
    expect(got.map((g) => g.body)).toEqual(['new0', 'new1']);
    expect(got.map((g) => g.offset)).toEqual([5, 6]);
  });

  it("{ interval: '1h' } starts at what was written in the last hour; basicConsume takes offset too", async () => {
    const { s, q, pub } = await withStream();
    await publishAll(pub, q, range(0, 3));
    const c = await s.channel.consume(q, { prefetch: 100, offset: { interval: '1h' } });
    expect((await take(c, 3)).map((g) => g.body)).toEqual(range(0, 3));
    const offsets: unknown[] = [];
    await s.channel.basicConsume(
      (ch, _b, env, props) => {
        offsets.push(props.headers?.['x-stream-offset']);
        ch.basicClientAck(env.deliveryTag);
      },
      { queueName: q, offset: 1 },
    );
    await sleep(300);
    expect(offsets).toEqual([1, 2]);
  });
});

describe('stream offsets: encoding and decoding', () => {
  it('encodes each kind of offset with its AMQP type', () => {
    expect(streamOffsetArgument('first')).toBe('first');
    expect(streamOffsetArgument('last')).toBe('last');
    expect(streamOffsetArgument('next')).toBe('next');
    expect(streamOffsetArgument(42)).toEqual(typed('int64', 42));
    expect(streamOffsetArgument(2n ** 60n)).toEqual(typed('int64', 2n ** 60n));
    const d = new Date(1_700_000_000_500);
    expect(streamOffsetArgument(d)).toEqual(typed('timestamp', d));
    expect(streamOffsetArgument({ interval: '2D' })).toBe('2D');
    for (const bad of [-1, 1.5, Number.NaN, 'middle', new Date(Number.NaN), { interval: 'soon' }, null, {}]) {
      expect(() => streamOffsetArgument(bad as never), String(bad)).toThrow(TypeError);
    }
  });

  it('reads x-stream-offset as a number, a bigint past 2^53, else undefined', () => {
    const p = (headers: Record<string, unknown> | undefined): Properties => Object.assign(new Properties(), { headers });
    expect(streamOffsetOf(p({ 'x-stream-offset': 7 }))).toBe(7);
    expect(streamOffsetOf(p({ 'x-stream-offset': 2n ** 60n }))).toBe(2n ** 60n);
    expect(streamOffsetOf(p({ 'x-stream-offset': 'x' }))).toBeUndefined();
    expect(streamOffsetOf(p(undefined))).toBeUndefined();
  });
});
