import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelClosed,
  Decimal,
  DuplicateConsumerTag,
  EmptyQueue,
  Envelope,
  Properties,
  typed,
  type Channel,
  type FieldTable,
} from '../../src/index.js';
import { connect } from '../../src/index.js';
import { startProxy } from '../support/tcp-proxy.js';
import { BROKER_HOST, BROKER_PORT, openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

interface Got {
  body: Buffer;
  envelope: Envelope;
  properties: Properties;
}

/** Consume from `queue` into an array; returns the array and the tag. */
async function collect(ch: Channel, queue: string, noAck = true): Promise<{ got: Got[]; tag: string }> {
  const got: Got[] = [];
  const { consumerTag } = await ch.basicConsume(
    (_c, body, envelope, properties) => {
      got.push({ body, envelope, properties });
    },
    { queueName: queue, noAck },
  );
  return { got, tag: consumerTag };
}

describe('publish and consume', () => {
  let s: Session;
  afterEach(async () => {
    await s?.close();
  });

  it('delivers with the envelope and properties, in order, and acks', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const { got, tag } = await collect(ch, queue, false);
    for (let i = 0; i < 20; i++) await ch.publish(`m${i}`, '', queue, { messageId: String(i) });
    await waitFor(() => got.length === 20);
    expect(got.map((g) => g.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    const first = got[0]!;
    expect(first.envelope).toBeInstanceOf(Envelope);
    expect(first.envelope).toMatchObject({ consumerTag: tag, deliveryTag: 1, exchangeName: '', routingKey: queue, isRedeliver: false });
    expect(first.properties).toBeInstanceOf(Properties);
    expect(first.properties.messageId).toBe('0');
    expect(first.properties.contentType).toBeUndefined();
    ch.basicClientAck(20, true);
    await ch.basicCancel(tag);
    expect((await ch.queueDeclare(queue, { passive: true })).messageCount).toBe(0);
  });

  it('round-trips an empty body, UTF-8 strings, a 5 MiB body and bodies of frame-max − 8 and − 7', async () => {
    s = await openSession({ frameMax: 4096 });
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const { got } = await collect(ch, queue);
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i >>> 0, i);
    const exact = Buffer.alloc(4096 - 8, 1);
    const over = Buffer.alloc(4096 - 7, 2);
    const bodies: (string | Buffer)[] = ['', 'héllo wörld ✓ 🐇', exact, over, big];
    for (const b of bodies) await ch.publish(b, '', queue);
    await waitFor(() => got.length === bodies.length, 15000, 'all bodies');
    expect(got[0]!.body.length).toBe(0);
    expect(got[1]!.body.toString('utf8')).toBe('héllo wörld ✓ 🐇');
    expect(got[2]!.body.equals(exact)).toBe(true);
    expect(got[3]!.body.equals(over)).toBe(true);
    expect(got[4]!.body.equals(big)).toBe(true);
  });

  it('round-trips every property and every field-table type through the broker', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const headers: FieldTable = {
      bool: true,
      int8: -5,
      uint8: typed('uint8', 200),
      int16: 1000,
      uint16: typed('uint16', 60000),
      int32: 100000,
      uint32: typed('uint32', 4000000000),
      int64: 2 ** 40,
      bigint: -(2n ** 62n),
      float: typed('float', 1.5),
      double: 3.25,
      decimal: new Decimal(2, 12345),
      string: 'text ✓',
      bytes: Buffer.from([0, 1, 2, 255]),
      timestamp: new Date(1_700_000_000_000),
      nested: { a: 1, deeper: { b: 'c' } },
      array: [1, 'two', true, null, [3]],
      void: null,
    };
    const props = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers,
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr',
      replyTo: 'reply-q',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: new Date(1_600_000_000_000),
      messageType: 'kind',
      userId: 'guest',
      appId: 'amqp091-tests',
      clusterId: 'cluster',
    };
    await ch.publish('x', '', queue, props);
    const got = await ch.basicGet(queue, { noAck: true });
    const p = got.properties;
    expect(p).toBeInstanceOf(Properties);
    const { headers: h, ...rest } = p;
    const { headers: _ignored, ...expected } = props;
    expect(rest).toEqual(expected);
    expect(h).toEqual({
      bool: true,
      int8: -5,
      uint8: 200,
      int16: 1000,
      uint16: 60000,
      int32: 100000,
      uint32: 4000000000,
      int64: 2 ** 40,
      bigint: -(2n ** 62n),
      float: 1.5,
      double: 3.25,
      decimal: new Decimal(2, 12345),
      string: 'text ✓',
      bytes: Buffer.from([0, 1, 2, 255]),
      timestamp: new Date(1_700_000_000_000),
      nested: { a: 1, deeper: { b: 'c' } },
      array: [1, 'two', true, null, [3]],
      void: null,
    });
  });

  it('a body that arrives in one frame is handed over without a copy (a view of the received bytes)', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    const { got } = await collect(s.channel, queue);
    // 10 kB: one frame that arrives in one socket read (a frame split across
    // reads is streamed, copied once into a buffer of exactly its size).
    await s.channel.publish(Buffer.alloc(10_000, 3), '', queue);
    await waitFor(() => got.length === 1);
    const body = got[0]!.body;
    expect(body.length).toBe(10_000);
    // A copy (above the 4 KiB pool limit) would own its memory exactly; the in-place slice sits inside a larger received buffer.
    expect(body.buffer.byteLength).toBeGreaterThan(body.length);
  });

  it('back-pressure: publish promises wait while the socket is backed up, and resolve once it drains', async () => {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    const [t, p] = await connect({ host: proxy.host, port: proxy.port, heartbeat: 0 });
    try {
      const ch = await p.channel();
      const { queue } = await ch.queueDeclare('', { exclusive: true });
      proxy.pause(); // the link stalls: the kernel buffers fill, then ours
      const body = Buffer.alloc(1024 * 1024, 5);
      let settled = 0;
      const all = Array.from({ length: 16 }, () => ch.publish(body, '', queue).then(() => void settled++));
      await sleep(300);
      expect(settled).toBe(0);
      expect(t.socket.writableLength).toBeGreaterThan(1024 * 1024);
      proxy.resume();
      await Promise.all(all);
      expect(settled).toBe(16);
      await ch.confirmSelect();
      await ch.publish('last', '', queue);
      expect((await ch.queueDeclare(queue, { passive: true })).messageCount).toBe(17);
    } finally {
      await p.close();
      t.close();
      await proxy.close();
    }
  });

  it('a message with no properties has every property undefined', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    await s.channel.publish(new Uint8Array([1, 2, 3]), '', queue);
    const got = await s.channel.basicGet(queue, { noAck: true });
    expect(Object.values(got.properties).filter((v) => v !== undefined)).toEqual([]);
    expect([...got.message]).toEqual([1, 2, 3]);
  });

  it('basicGet returns GetResult, rejects EmptyQueue when empty, and nack/reject requeue as asked', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await expect(ch.basicGet(queue)).rejects.toBeInstanceOf(EmptyQueue);
    await ch.confirmSelect();
    await ch.publish('one', '', queue, { contentType: 'text/plain' });
    await ch.publish('two', '', queue);
    const a = await ch.basicGet(queue);
    expect(a).toMatchObject({ deliveryTag: 1, redelivered: false, exchangeName: '', routingKey: queue, messageCount: 1 });
    expect(a.message.toString()).toBe('one');
    expect(a.properties.contentType).toBe('text/plain');
    ch.basicClientNack(a.deliveryTag); // requeue by default
    const again = await ch.basicGet(queue);
    expect(again.message.toString()).toBe('one');
    expect(again.redelivered).toBe(true);
    ch.basicReject(again.deliveryTag); // discard by default
    const b = await ch.basicGet(queue);
    expect(b.message.toString()).toBe('two');
    ch.basicReject(b.deliveryTag, { requeue: true });
    const b2 = await ch.basicGet(queue);
    ch.basicClientNack(b2.deliveryTag, { requeue: false });
    await expect(ch.basicGet(queue)).rejects.toBeInstanceOf(EmptyQueue);
    expect(() => ch.basicClientAck(-1)).toThrow(TypeError);
    expect(() => ch.basicClientAck(1.5)).toThrow(TypeError);
  });

  it('basicRecover redelivers unacked messages', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const { got } = await collect(ch, queue, false);
    await ch.publish('r', '', queue);
    await waitFor(() => got.length === 1);
    await ch.basicRecover({ requeue: true });
    await waitFor(() => got.length === 2);
    expect(got[1]!.envelope.isRedeliver).toBe(true);
    ch.basicRecoverAsync({ requeue: true });
    await waitFor(() => got.length === 3);
    ch.basicClientAck(0, true);
  });

  it('by default waits for each callback to settle before the next; concurrency n runs up to n at once', async () => {
    s = await openSession();
    const ch = s.channel;
    const run = async (concurrency: number | undefined): Promise<{ max: number; order: string[] }> => {
      const { queue } = await ch.queueDeclare('', { exclusive: true });
      let inFlight = 0;
      let max = 0;
      const order: string[] = [];
      await ch.basicConsume(
        async (_c, body) => {
          inFlight++;
          max = Math.max(max, inFlight);
          await sleep(15);
          order.push(body.toString());
          inFlight--;
        },
        { queueName: queue, noAck: true, ...(concurrency === undefined ? {} : { concurrency }) },
      );
      for (let i = 0; i < 8; i++) await ch.publish(String(i), '', queue);
      await waitFor(() => order.length === 8);
      return { max, order };
    };
    const serial = await run(undefined);
    expect(serial.max).toBe(1);
    expect(serial.order).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    const parallel = await run(4);
    expect(parallel.max).toBe(4);
  });

  it('a callback never runs before basicConsume has resolved', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    for (let i = 0; i < 5; i++) await ch.publish('early', '', queue);
    let resolved = false;
    let calledEarly = false;
    let calls = 0;
    const p = ch.basicConsume(
      () => {
        calls++;
        if (!resolved) calledEarly = true;
      },
      { queueName: queue, noAck: true },
    );
    await p;
    resolved = true;
    await waitFor(() => calls === 5);
    expect(calledEarly).toBe(false);
  });

  it('a throwing or rejecting callback goes to onError; the connection keeps working', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    let n = 0;
    await ch.basicConsume(
      (_c, body) => {
        n++;
        if (body.toString() === 'throw') throw new Error('sync boom');
        if (body.toString() === 'reject') return Promise.reject(new Error('async boom'));
        return undefined;
      },
      { queueName: queue, noAck: true },
    );
    await ch.publish('throw', '', queue);
    await ch.publish('reject', '', queue);
    await ch.publish('fine', '', queue);
    await waitFor(() => n === 3 && s.errors.length === 2);
    expect(s.errors.map((e) => e.message).sort()).toEqual(['async boom', 'sync boom']);
    expect(s.protocol.state).toBe('open');
    await ch.queueDeclare('', { exclusive: true });
  });

  it('acking inside the callback of an already-closed channel reports ChannelClosed to onError', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    const { queue } = await ch.queueDeclare('', { exclusive: false, autoDelete: true });
    let gotOne: () => void = () => undefined;
    const arrived = new Promise<void>((r) => (gotOne = r));
    await ch.basicConsume(
      async (c, _b, env) => {
        gotOne();
        await sleep(50);
        c.basicClientAck(env.deliveryTag);
      },
      { queueName: queue },
    );
    await ch.publish('x', '', queue);
    await arrived;
    await ch.close();
    await waitFor(() => s.errors.length === 1);
    expect(s.errors[0]).toBeInstanceOf(ChannelClosed);
  });

  it('concurrent calls on one channel each get their own reply, even consume-ok/cancel-ok sent by queue processes', async () => {
    s = await openSession();
    const ch = s.channel;
    for (let round = 0; round < 5; round++) {
      const queues = await Promise.all(Array.from({ length: 10 }, () => ch.queueDeclare('', { exclusive: true })));
      const consumed = await Promise.all(queues.map((q) => ch.basicConsume(() => undefined, { queueName: q.queue })));
      const results = await Promise.all([
        ...consumed.map((c) => ch.basicCancel(c.consumerTag)),
        ch.basicQos({ prefetchCount: 3 }),
        ch.queueDeclare('', { exclusive: true }).then((r) => r.queue),
        ch.queuePurge(queues[0]!.queue).then((r) => r.messageCount),
      ]);
      expect(results.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => undefined));
      expect(results[11]).toMatch(/^amq\.gen-/);
      expect(results[12]).toBe(0);
    }
    expect(ch.consumerTags).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it('no-wait requests stay in order with the synchronous calls queued before them', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('order');
    const ex = uniqueName('order-ex');
    // Not awaited one by one: the bind must still reach the broker after both declares.
    const calls = [
      ch.exchangeDeclare(ex, 'fanout', { autoDelete: true }),
      ch.queueDeclare(q, { exclusive: true }),
      ch.queueBind(q, ex, '', { noWait: true }),
      ch.confirmSelect(),
    ];
    await Promise.all(calls);
    await ch.publish('via-binding', ex, '');
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.toString()).toBe('via-binding');
  });

  it('rejects a duplicate consumer tag before sending anything', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.basicConsume(() => undefined, { queueName: queue, consumerTag: 'dup' });
    await expect(ch.basicConsume(() => undefined, { queueName: queue, consumerTag: 'dup' })).rejects.toBeInstanceOf(DuplicateConsumerTag);
    expect(ch.isOpen).toBe(true);
    await ch.basicCancel('dup');
    await ch.basicConsume(() => undefined, { queueName: queue, consumerTag: 'dup' });
  });

  it('deliveries racing a basicCancel are requeued, never handed to the callback', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.confirmSelect();
    await Promise.all(Array.from({ length: 200 }, (_, i) => ch.publish(String(i), '', queue)));
    let seen = 0;
    let afterCancel = 0;
    let cancelled = false;
    let cancelling: Promise<void> | null = null;
    const { consumerTag } = await ch.basicConsume(
      async (c, _b, env) => {
        if (cancelled) afterCancel++;
        seen++;
        if (seen === 1) {
          cancelled = true;
          cancelling = c.basicCancel(consumerTag);
        }
        await sleep(1);
        if (!cancelled || seen === 1) c.basicClientAck(env.deliveryTag);
      },
      { queueName: queue },
    );
    await waitFor(() => cancelling !== null);
    await cancelling;
    await sleep(50);
    expect(afterCancel).toBe(0);
    const left = await ch.queueDeclare(queue, { passive: true });
    expect(left.messageCount).toBe(199);
    expect(s.errors).toEqual([]);
  });

  it('deleting a consumed queue calls the cancellation callbacks and removes the consumer', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('cancel-notify');
    await ch.queueDeclare(q);
    const calls: [Channel, string][] = [];
    ch.addCancellationCallback((c, tag) => void calls.push([c, tag]));
    const { consumerTag } = await ch.basicConsume(() => undefined, { queueName: q });
    const other = await s.protocol.channel();
    await other.queueDelete(q);
    await waitFor(() => calls.length === 1);
    expect(calls[0]).toEqual([ch, consumerTag]);
    expect(ch.consumerTags).toEqual([]);
    expect(ch.isOpen).toBe(true);
  });

  it('noWait consume and cancel work', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const got: string[] = [];
    const { consumerTag } = await ch.basicConsume((_c, b) => void got.push(b.toString()), {
      queueName: queue,
      noAck: true,
      noWait: true,
      consumerTag: 'nw',
    });
    expect(consumerTag).toBe('nw');
    await ch.publish('a', '', queue);
    await waitFor(() => got.length === 1);
    await ch.basicCancel('nw', { noWait: true });
    await ch.publish('b', '', queue);
    await sleep(50);
    expect(got).toEqual(['a']);
  });

  it('an exclusive consumer blocks a second one with 403', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    await s.channel.basicConsume(() => undefined, { queueName: queue, exclusive: true });
    const ch2 = await s.protocol.channel();
    const err = await rejectionOf(ch2.basicConsume(() => undefined, { queueName: queue }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(403);
  });
});
