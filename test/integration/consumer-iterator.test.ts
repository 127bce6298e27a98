// channel.consume(): the async-iterator consumer against the real broker
// (API.md "Consumers: async iterator and state" and its precise semantics):
// ordered delivery, leaving the loop (requeue counted by the broker), the
// user's cancel, the broker's cancel, channel and connection ends, misuse
// (a second iterator, a second ack), noAck back-pressure, recovery.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmqpClosedConnection,
  ChannelClosed,
  Consumer,
  ConsumerCancelled,
  DuplicateConsumerTag,
  Message,
  connect,
  type Channel,
  type ConsumerHandle,
} from '../../src/index.js';
import { startProxy } from '../support/tcp-proxy.js';
import { BROKER_HOST, BROKER_PORT, LOCAL_BROKER, openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';
import { liveHandles } from '../support/leaks.js';

const sessions: Session[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const s of sessions.splice(0)) await s.close();
});

async function session(): Promise<Session> {
  const s = await openSession();
  sessions.push(s);
  return s;
}

async function queueWith(ch: Channel, n: number, prefix = 'it'): Promise<string> {
  const { queue } = await ch.queueDeclare(uniqueName(prefix), { exclusive: true });
  for (let i = 0; i < n; i++) await ch.publish(`m${i}`, '', queue);
  return queue;
}

async function messageCount(ch: Channel, queue: string): Promise<number> {
  return (await ch.queueDeclare(queue, { passive: true })).messageCount;
}

describe('channel.consume(): iterating', () => {
  it('hands out messages in order as Message objects; ack settles them; break cancels quietly', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 5);
    const consumer = await s.channel.consume(q, { prefetch: 10 });
    expect(consumer).toBeInstanceOf(Consumer);
    expect(consumer.state).toBe('active');
    expect(consumer.error).toBeNull();
    expect(consumer.consumerTag).toMatch(/^amqp091-/);
    const got: string[] = [];
    for await (const msg of consumer) {
      expect(msg).toBeInstanceOf(Message);
      expect(msg.envelope.consumerTag).toBe(consumer.consumerTag);
      expect(msg.streamOffset).toBeUndefined();
      got.push(msg.body.toString());
      msg.ack();
      if (got.length === 5) break;
    }
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(consumer.state).toBe('cancelled');
    expect(await consumer.closed).toBeNull();
    expect(s.channel.consumerTags).toEqual([]);
    expect(await messageCount(s.channel, q)).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('break: messages not yet handed out are requeued; the one the loop body holds stays the user\'s', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 10);
    const consumer = await s.channel.consume(q, { prefetch: 10 });
    let held: Message | undefined;
    // Let all ten arrive before the first is taken, so nine are buffered.
    await sleep(200);
    for await (const msg of consumer) {
      held = msg;
      break;
    }
    expect(held!.body.toString()).toBe('m0');
    // Nine back in the queue, one unacked with the user.
    expect(await messageCount(s.channel, q)).toBe(9);
    held!.ack();
    expect(await messageCount(s.channel, q)).toBe(9);
    expect(consumer.state).toBe('cancelled');
    // The requeued ones come again to a new consumer.
    const again = await s.channel.consume(q);
    const bodies: string[] = [];
    for await (const msg of again) {
      bodies.push(msg.body.toString());
      expect(msg.envelope.isRedeliver).toBe(true);
      msg.ack();
      if (bodies.length === 9) break;
    }
    expect(bodies).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(await messageCount(s.channel, q)).toBe(0);
  });

  it('throwing out of the loop cancels the consumer and requeues the buffer', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 4);
    const consumer = await s.channel.consume(q, { prefetch: 4 });
    await sleep(200);
    const err = await rejectionOf(
      (async () => {
        for await (const msg of consumer) {
          msg.ack();
          throw new Error('handler failed');
        }
      })(),
    );
    expect((err as Error).message).toBe('handler failed');
    expect(consumer.state).toBe('cancelled');
    expect(await consumer.closed).toBeNull();
    expect(await messageCount(s.channel, q)).toBe(3);
  });

  it('prefetch sends basic.qos: only that many are delivered unacked', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 20);
    const consumer = await s.channel.consume(q, { prefetch: 5 });
    await sleep(300);
    expect(await messageCount(s.channel, q)).toBe(15);
    await consumer.cancel();
    expect(await messageCount(s.channel, q)).toBe(20);
  });

  it('cancel() ends the loop quietly; cancel twice is fine; closed resolves null', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 3);
    const consumer = await s.channel.consume(q, { prefetch: 10 });
    const got: string[] = [];
    for await (const msg of consumer) {
      got.push(msg.body.toString());
      msg.ack();
      if (got.length === 1) {
        const first = consumer.cancel();
        expect(consumer.state).toBe('cancelled');
        await Promise.all([first, consumer.cancel()]);
      }
    }
    expect(got).toEqual(['m0']);
    expect(await consumer.closed).toBeNull();
    await consumer.cancel();
    expect(await messageCount(s.channel, q)).toBe(2);
  });

  it('a loop waiting for messages ends quietly on cancel() from elsewhere', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const consumer = await s.channel.consume(q);
    const loop = (async () => {
      let n = 0;
      for await (const _ of consumer) n++;
      return n;
    })();
    await sleep(50);
    await consumer.cancel();
    expect(await loop).toBe(0);
  });

  it('channel.basicCancel(tag) counts as the user\'s cancel', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const consumer = await s.channel.consume(q);
    const loop = (async () => {
      for await (const _ of consumer) return 'message';
      return 'ended';
    })();
    await sleep(50);
    await s.channel.basicCancel(consumer.consumerTag);
    expect(await loop).toBe('ended');
    expect(consumer.state).toBe('cancelled');
    expect(await consumer.closed).toBeNull();
  });

  it('the broker cancels (queue deleted): the loop throws ConsumerCancelled with tag and queue; state failed', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const consumer = await s.channel.consume(q, { prefetch: 1 });
    // Handled from the start: the cancel can arrive before queueDelete resolves.
    const loop = rejectionOf(
      (async () => {
        for await (const msg of consumer) msg.ack();
      })(),
    );
    await sleep(50);
    const other = await s.protocol.channel();
    await other.queueDelete(q);
    const err = await loop;
    expect(err).toBeInstanceOf(ConsumerCancelled);
    expect(err).toMatchObject({ consumerTag: consumer.consumerTag, queueName: q });
    expect(consumer.state).toBe('failed');
    expect(consumer.error).toBe(err);
    expect(await consumer.closed).toBe(err);
    // After the throw the iterator is done; cancel() is a no-op.
    await consumer.cancel();
    expect(s.channel.isOpen).toBe(true);
  });

  it('the broker closes the channel: the loop throws its ChannelClosed (404)', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const consumer = await s.channel.consume(q);
    const loop = rejectionOf(
      (async () => {
        for await (const _ of consumer) void 0;
      })(),
    );
    await sleep(50);
    await rejectionOf(s.channel.queueDeclare(uniqueName('missing'), { passive: true }));
    const err = await loop;
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    expect(consumer.state).toBe('failed');
    expect(await consumer.closed).toBe(err);
  });

  it('the broker closes the channel while messages are buffered: the loop throws at once', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 5);
    const consumer = await s.channel.consume(q, { prefetch: 5 });
    await sleep(200);
    await rejectionOf(s.channel.queueDeclare(uniqueName('missing'), { passive: true }));
    const got: Message[] = [];
    const err = await rejectionOf(
      (async () => {
        for await (const msg of consumer) got.push(msg);
      })(),
    );
    expect(got).toEqual([]);
    expect(err).toBeInstanceOf(ChannelClosed);
  });

  it('the user closes the channel or the connection: the loop ends quietly', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const ch2 = await s.protocol.channel();
    const a = await s.channel.consume(q);
    const b = await ch2.consume(q);
    const loopOf = (c: Consumer) =>
      (async () => {
        for await (const _ of c) void 0;
        return 'ended';
      })();
    const la = loopOf(a);
    const lb = loopOf(b);
    await sleep(50);
    await s.channel.close();
    expect(await la).toBe('ended');
    expect(a.state).toBe('cancelled');
    expect(await a.closed).toBeNull();
    await s.protocol.close();
    expect(await lb).toBe('ended');
    expect(b.state).toBe('cancelled');
    expect(await b.closed).toBeNull();
  });

  it('the connection is lost (recovery off): the loop throws its AmqpClosedConnection', async () => {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    cleanups.push(() => proxy.close());
    const [t, p] = await connect({ host: '127.0.0.1', port: proxy.port, onError: () => undefined });
    cleanups.push(() => t.close());
    const ch = await p.channel();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const consumer = await ch.consume(queue);
    const loop = (async () => {
      for await (const _ of consumer) void 0;
    })();
    await sleep(50);
    proxy.cut();
    const err = await rejectionOf(loop);
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(consumer.state).toBe('failed');
    expect(consumer.error).toBe(err);
  });

  it.skipIf(!LOCAL_BROKER)('with recovery on, the loop keeps waiting across a recovery and gets messages again', async () => {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    cleanups.push(() => proxy.close());
    const [t, p] = await connect({ host: '127.0.0.1', port: proxy.port, recovery: { initialDelay: 10, maxDelay: 50 }, onError: () => undefined });
    cleanups.push(async () => {
      await p.close({ timeout: 500 });
      t.close();
    });
    const ch = await p.channel();
    const q = uniqueName('it-rec');
    await ch.queueDeclare(q, { autoDelete: true });
    const consumer = await ch.consume(q, { prefetch: 10 });
    const got: string[] = [];
    const loop = (async () => {
      for await (const msg of consumer) {
        got.push(msg.body.toString());
        msg.ack();
        if (got.length === 2) break;
      }
    })();
    await ch.publish('before', '', q);
    await waitFor(() => got.length === 1, 5000, 'first message');
    const recovered = new Promise<void>((resolve) => p.once('recovered', () => resolve()));
    proxy.cut();
    await recovered;
    expect(consumer.state).toBe('active');
    await ch.publish('after', '', q);
    await loop;
    expect(got).toEqual(['before', 'after']);
    expect(consumer.consumerTag).toBe(ch.consumerTags[0] ?? consumer.consumerTag);
  });
});

describe('channel.consume(): misuse', () => {
  it('a second iterator throws TypeError; the first keeps working', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 1);
    const consumer = await s.channel.consume(q);
    const it1 = consumer[Symbol.asyncIterator]();
    expect(() => consumer[Symbol.asyncIterator]()).toThrow(TypeError);
    const err = await rejectionOf(
      (async () => {
        for await (const _ of consumer) void 0;
      })(),
    );
    expect(err).toBeInstanceOf(TypeError);
    const r = await it1.next();
    expect(r.done).toBe(false);
    expect((r.value as Message).body.toString()).toBe('m0');
    (r.value as Message).ack();
    await it1.return!();
    expect(consumer.state).toBe('cancelled');
  });

  it('ack twice, or ack then nack, throws TypeError before anything is sent; the channel stays open', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 2);
    const consumer = await s.channel.consume(q, { prefetch: 2 });
    const it = consumer[Symbol.asyncIterator]();
    const m0 = (await it.next()).value as Message;
    m0.ack();
    expect(() => m0.ack()).toThrow(TypeError);
    expect(() => m0.nack()).toThrow(TypeError);
    expect(() => m0.reject()).toThrow(TypeError);
    const m1 = (await it.next()).value as Message;
    m1.nack(); // requeue by default
    expect(() => m1.ack()).toThrow(TypeError);
    const again = (await it.next()).value as Message;
    expect(again.body.toString()).toBe('m1');
    expect(again.envelope.isRedeliver).toBe(true);
    again.reject(); // requeue false: gone
    await it.return!();
    expect(s.channel.isOpen).toBe(true);
    expect(await messageCount(s.channel, q)).toBe(0);
  });

  it('ack after the channel closed throws ChannelClosed, as basicClientAck does', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 1);
    const consumer = await s.channel.consume(q);
    const it = consumer[Symbol.asyncIterator]();
    const m = (await it.next()).value as Message;
    await s.channel.close();
    expect(() => m.ack()).toThrow(ChannelClosed);
    expect(() => s.channel.basicClientAck(m.envelope.deliveryTag)).toThrow(ChannelClosed);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('bad options reject with TypeError before anything is sent; a tag in use rejects DuplicateConsumerTag', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    for (const o of [{ highWaterMark: 0 }, { prefetch: 70000 }, { prefetch: 1.5 }, { settle: 'sometimes' }, { noAck: true, settle: 'auto' }, { offset: 'middle' }]) {
      expect(await rejectionOf(s.channel.consume(q, o as never))).toBeInstanceOf(TypeError);
    }
    const c = await s.channel.consume(q, { consumerTag: 'mine' });
    expect(await rejectionOf(s.channel.consume(q, { consumerTag: 'mine' }))).toBeInstanceOf(DuplicateConsumerTag);
    await c.cancel();
    expect(s.channel.isOpen).toBe(true);
  });

  it('an aborted signal rejects with its reason and starts nothing (prefetch included)', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 1);
    const reason = new Error('stop');
    expect(await rejectionOf(s.channel.consume(q, { prefetch: 5, signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(s.channel.consumerTags).toEqual([]);
    await sleep(100);
    const check = await s.protocol.channel();
    expect((await check.queueDeclare(q, { passive: true })).consumerCount).toBe(0);
    expect(await messageCount(check, q)).toBe(1);
  });

  it('consume on a closed channel rejects with its close error', async () => {
    const s = await session();
    await s.channel.close();
    expect(await rejectionOf(s.channel.consume('x'))).toBeInstanceOf(ChannelClosed);
  });
});

describe('channel.consume(): noAck and back-pressure', () => {
  it('noAck: ack/nack/reject are no-ops; above highWaterMark the socket is paused, resumed at half; every message arrives', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const pub = await s.protocol.channel();
    const n = 300;
    const consumer = await s.channel.consume(q, { noAck: true, highWaterMark: 20 });
    for (let i = 0; i < n; i++) void pub.publish(`m${i}`, '', q);
    await pub.publish('last', '', q);
    const socket = s.protocol.socket!;
    await waitFor(() => socket.isPaused(), 5000, 'socket paused');
    const got: string[] = [];
    for await (const msg of consumer) {
      msg.ack();
      msg.nack();
      msg.reject();
      got.push(msg.body.toString());
      if (got.length === n + 1) break;
      if (got.length % 50 === 0) await sleep(5);
    }
    expect(got[0]).toBe('m0');
    expect(got.at(-1)).toBe('last');
    expect(got.length).toBe(n + 1);
    expect(socket.isPaused()).toBe(false);
    expect(s.errors).toEqual([]);
  });

  it('noAck: a loop body that awaits a call or a confirm on the same connection while paused does not deadlock', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const pub = await s.protocol.channel();
    const confirming = await s.protocol.channel();
    await confirming.confirmSelect();
    const consumer = await s.channel.consume(q, { noAck: true, highWaterMark: 5 });
    for (let i = 0; i < 100; i++) void pub.publish(`m${i}`, '', q);
    await pub.publish('last', '', q);
    await waitFor(() => s.protocol.socket!.isPaused(), 5000, 'socket paused');
    let n = 0;
    for await (const msg of consumer) {
      n++;
      if (n % 10 === 1) {
        // Paused now: each of these needs a reply read from the paused socket.
        await pub.queueDeclare(q, { passive: true });
        await confirming.publish('x', '', uniqueName('nowhere'));
      }
      if (msg.body.toString() === 'last') break;
    }
    expect(n).toBe(101);
  });

  it('a consumer cancelled after noAck messages were buffered still hands them out, then ends', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 5);
    const consumer = await s.channel.consume(q, { noAck: true });
    await sleep(200);
    await consumer.cancel();
    const got: string[] = [];
    for await (const msg of consumer) got.push(msg.body.toString());
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});

describe('basicConsume: { consumerTag, consumer }', () => {
  it('consumer has state, error, closed and cancel(); cancel ends it quietly', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const { consumerTag, consumer } = await s.channel.basicConsume(() => undefined, { queueName: q });
    expect(consumer.consumerTag).toBe(consumerTag);
    expect(consumer.state).toBe('active');
    expect(Symbol.asyncIterator in consumer).toBe(false);
    await consumer.cancel();
    await consumer.cancel();
    expect(consumer.state).toBe('cancelled');
    expect(await consumer.closed).toBeNull();
    expect(s.channel.consumerTags).toEqual([]);
  });

  it('the broker cancels: state failed with ConsumerCancelled; channel close: failed with ChannelClosed', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    const { consumer } = await s.channel.basicConsume(() => undefined, { queueName: q });
    const q2 = await queueWith(s.channel, 0);
    const { consumer: c2 }: { consumer: ConsumerHandle } = await s.channel.basicConsume(() => undefined, { queueName: q2 });
    await (await s.protocol.channel()).queueDelete(q);
    const err = await consumer.closed;
    expect(err).toBeInstanceOf(ConsumerCancelled);
    expect(err).toMatchObject({ consumerTag: consumer.consumerTag, queueName: q });
    expect(consumer.state).toBe('failed');
    expect(c2.state).toBe('active');
    await rejectionOf(s.channel.queueDeclare(uniqueName('missing'), { passive: true }));
    expect(await c2.closed).toBeInstanceOf(ChannelClosed);
    expect(c2.state).toBe('failed');
  });
});

describe('channel.consume(): nothing left behind', () => {
  it('many consumers started, iterated, left and cancelled leave no timer, listener or paused socket', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 0);
    await sleep(50);
    const socket = s.protocol.socket!;
    const listeners = socket.eventNames().map((e) => socket.listenerCount(e));
    const before = liveHandles();
    for (let i = 0; i < 20; i++) {
      const c = await s.channel.consume(q, { prefetch: 1, highWaterMark: 1 });
      await s.channel.publish(`m${i}`, '', q);
      for await (const msg of c) {
        msg.ack();
        break;
      }
      const d = await s.channel.consume(q);
      await d.cancel();
    }
    await sleep(50);
    const after = liveHandles();
    expect(after.sockets).toBe(before.sockets);
    // The baseline may catch a timer of the test's own that has fired since: none may be added.
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    expect(socket.eventNames().map((e) => socket.listenerCount(e))).toEqual(listeners);
    expect(socket.isPaused()).toBe(false);
    expect(s.channel.consumerTags).toEqual([]);
  });
});
