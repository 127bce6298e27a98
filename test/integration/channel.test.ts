import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, ChannelClosed, TimeoutError, connect } from '../../src/index.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { BROKER_HOST, BROKER_PORT, openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, waitFor } from '../support/async.js';

describe('channel: queues and exchanges', () => {
  let s: Session;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await s?.close();
    await proxy?.close();
    proxy = undefined;
  });

  it('declares, binds, purges, unbinds and deletes a queue with the broker\'s counts', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('q');
    const ex = uniqueName('ex');
    const declared = await ch.queueDeclare(q, { autoDelete: true, arguments: { 'x-max-length': 100 } });
    expect(declared).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await ch.exchangeDeclare(ex, 'direct');
    await ch.queueBind(q, ex, 'rk');
    await ch.confirmSelect(); // so the counts below see every publish
    await Promise.all([ch.publish('a', ex, 'rk'), ch.publish('b', ex, 'rk'), ch.publish('c', ex, 'other')]);
    const again = await ch.queueDeclare(q, { passive: true });
    expect(again.messageCount).toBe(2);
    expect(await ch.queuePurge(q)).toEqual({ messageCount: 2 });
    await ch.queueUnbind(q, ex, 'rk');
    await ch.publish('d', ex, 'rk');
    await ch.publish('e', '', q);
    expect((await ch.queueDeclare(q, { passive: true })).messageCount).toBe(1);
    expect(await ch.queueDelete(q)).toEqual({ messageCount: 1 });
    await ch.exchangeDelete(ex);
    const err = await rejectionOf(ch.exchangeDeclare(ex, 'direct', { passive: true }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
  });

  it('server-named queues, exclusive queues and the default type', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    expect(queue).toMatch(/^amq\.gen-/);
    const ex = uniqueName('ex');
    await s.channel.exchangeDeclare(ex); // direct by default
    await s.channel.exchangeDeclare(ex, 'direct', { passive: true });
    const err = await rejectionOf(s.channel.exchangeDeclare(ex, 'fanout'));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
    const ch2 = await s.protocol.channel();
    await ch2.exchangeDelete(ex);
  });

  it('exchange-to-exchange bindings route, and unbinding stops them', async () => {
    s = await openSession();
    const ch = s.channel;
    const src = uniqueName('src');
    const dst = uniqueName('dst');
    await ch.exchangeDeclare(src, 'topic');
    await ch.exchangeDeclare(dst, 'fanout');
    await ch.confirmSelect();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.queueBind(queue, dst, '');
    await ch.exchangeBind(dst, src, 'a.*');
    await ch.publish('1', src, 'a.b');
    await ch.publish('2', src, 'x.y');
    await ch.exchangeUnbind(dst, src, 'a.*');
    await ch.publish('3', src, 'a.b');
    const got = await ch.basicGet(queue, { noAck: true });
    expect(got.message.toString()).toBe('1');
    expect((await ch.queueDeclare(queue, { passive: true })).messageCount).toBe(0);
    await ch.exchangeDelete(dst);
    await ch.exchangeDelete(src);
  });

  it('internal exchanges refuse direct publishes with 403', async () => {
    s = await openSession();
    const ex = uniqueName('internal');
    await s.channel.exchangeDeclare(ex, 'fanout', { internal: true, autoDelete: true });
    await s.channel.confirmSelect();
    const err = await rejectionOf(s.channel.publish('x', ex, ''));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(403);
    const ch2 = await s.protocol.channel();
    await ch2.exchangeDelete(ex);
  });

  it('noWait calls resolve once written and take effect', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('nowait');
    const ex = uniqueName('nowait-ex');
    expect(await ch.queueDeclare(q, { noWait: true, autoDelete: true })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await ch.exchangeDeclare(ex, 'fanout', { noWait: true });
    await ch.queueBind(q, ex, '', { noWait: true });
    await ch.confirmSelect({ noWait: true });
    await ch.publish('m', ex, '');
    expect((await ch.queueDeclare(q, { passive: true })).messageCount).toBe(1);
    await ch.queuePurge(q, { noWait: true });
    await ch.exchangeDelete(ex, { noWait: true });
    await ch.queueDelete(q, { noWait: true });
    const err = await rejectionOf(ch.queueDeclare(q, { passive: true }));
    expect((err as ChannelClosed).code).toBe(404);
  });

  it('ifUnused / ifEmpty deletes fail with 406 PRECONDITION_FAILED', async () => {
    s = await openSession();
    const q = uniqueName('ifempty');
    await s.channel.queueDeclare(q, { autoDelete: false });
    await s.channel.publish('x', '', q);
    const err = await rejectionOf(s.channel.queueDelete(q, { ifEmpty: true }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
    expect((err as ChannelClosed).classId).toBe(50);
    expect((err as ChannelClosed).methodId).toBe(40);
    const ch2 = await s.protocol.channel();
    expect(await ch2.queueDelete(q)).toEqual({ messageCount: 1 });
  });
});

describe('channel: more options', () => {
  let s: Session;
  afterEach(async () => {
    await s?.close();
  });

  it('durable queues and exchanges survive redeclaration checks; exchangeDelete ifUnused refuses a bound exchange (406)', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('durable');
    const ex = uniqueName('durable-ex');
    await ch.queueDeclare(q, { durable: true });
    await ch.exchangeDeclare(ex, 'topic', { durable: true });
    await ch.queueBind(q, ex, '#');
    const err = await rejectionOf(ch.queueDeclare(q, { durable: false }));
    expect((err as ChannelClosed).code).toBe(406);
    const ch2 = await s.protocol.channel();
    const e2 = await rejectionOf(ch2.exchangeDelete(ex, { ifUnused: true }));
    expect(e2).toBeInstanceOf(ChannelClosed);
    expect((e2 as ChannelClosed).code).toBe(406);
    const ch3 = await s.protocol.channel();
    await ch3.queueDelete(q);
    await ch3.exchangeDelete(ex, { ifUnused: true }); // unbound now
  });

  it('binding arguments: a headers exchange routes by x-match', async () => {
    s = await openSession();
    const ch = s.channel;
    const ex = uniqueName('headers');
    await ch.exchangeDeclare(ex, 'headers');
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.queueBind(queue, ex, '', { arguments: { 'x-match': 'all', kind: 'a', level: 3 } });
    await ch.confirmSelect();
    await ch.publish('match', ex, '', { headers: { kind: 'a', level: 3 } });
    await ch.publish('partial', ex, '', { headers: { kind: 'a' } });
    await ch.queueUnbind(queue, ex, '', { arguments: { 'x-match': 'all', kind: 'a', level: 3 } });
    await ch.publish('after-unbind', ex, '', { headers: { kind: 'a', level: 3 } });
    const got = await ch.basicGet(queue, { noAck: true });
    expect(got.message.toString()).toBe('match');
    expect(got.messageCount).toBe(0);
    await ch.exchangeDelete(ex);
  });

  it('exchangeBind/exchangeUnbind with noWait', async () => {
    s = await openSession();
    const ch = s.channel;
    const src = uniqueName('src');
    const dst = uniqueName('dst');
    await ch.exchangeDeclare(src, 'fanout');
    await ch.exchangeDeclare(dst, 'fanout');
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.queueBind(queue, dst, '');
    await ch.exchangeBind(dst, src, '', { noWait: true });
    await ch.confirmSelect();
    await ch.publish('1', src, '');
    await ch.exchangeUnbind(dst, src, '', { noWait: true });
    await ch.publish('2', src, '');
    const got = await ch.basicGet(queue, { noAck: true });
    expect(got.message.toString()).toBe('1');
    expect(got.messageCount).toBe(0);
    await ch.exchangeDelete(src);
    await ch.exchangeDelete(dst);
  });

  it('prefetchCount limits unacked deliveries even with a higher consumer concurrency', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.basicQos({ prefetchCount: 2 });
    await ch.confirmSelect();
    await Promise.all(Array.from({ length: 6 }, (_, i) => ch.publish(String(i), '', queue)));
    const tags: number[] = [];
    await ch.basicConsume((_c, _b, env) => void tags.push(env.deliveryTag), { queueName: queue, concurrency: 5 });
    await waitFor(() => tags.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(tags.length).toBe(2);
    ch.basicClientAck(tags[1]!, true);
    await waitFor(() => tags.length === 4);
  });

  it('consumer arguments and noLocal are passed to the broker', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    const { consumerTag } = await s.channel.basicConsume(() => undefined, {
      queueName: queue,
      noLocal: false,
      arguments: { 'x-priority': 5 },
    });
    expect(consumerTag).toMatch(/^amqp091-/);
    await s.channel.basicCancel(consumerTag, { timeout: 1000 });
    const err = await rejectionOf(s.channel.basicConsume(() => undefined, { queueName: queue, arguments: { 'x-priority': 'high' } }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
  });

  it('protocol.close({ noWait: true }) ends at once; a custom channel close code and text are accepted', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    await ch.close(200, 'done here');
    expect(ch.isOpen).toBe(false);
    const t0 = Date.now();
    await s.protocol.close({ noWait: true });
    expect(Date.now() - t0).toBeLessThan(100);
    expect(s.protocol.state).toBe('closed');
    expect(s.errors).toEqual([]);
  });
});

describe('channel: errors', () => {
  let s: Session;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await s?.close();
    await proxy?.close();
    proxy = undefined;
  });

  it('404 rejects the call and every other pending call on the channel; later calls reject ChannelClosed', async () => {
    s = await openSession();
    const ch = s.channel;
    const first = ch.queueDeclare(uniqueName('missing'), { passive: true });
    const second = ch.queueDeclare('', { exclusive: true });
    const [e1, e2] = await Promise.all([rejectionOf(first), rejectionOf(second)]);
    expect(e1).toBeInstanceOf(ChannelClosed);
    expect((e1 as ChannelClosed).code).toBe(404);
    expect((e1 as ChannelClosed).replyText).toMatch(/NOT_FOUND/);
    expect((e1 as ChannelClosed).classId).toBe(50);
    expect((e1 as ChannelClosed).methodId).toBe(10);
    expect(e2).toBe(e1);
    expect(ch.isOpen).toBe(false);
    const later = await rejectionOf(ch.queueDeclare(''));
    expect(later).toBeInstanceOf(ChannelClosed);
    expect(() => ch.basicClientAck(1)).toThrow(ChannelClosed);
    expect(s.errors).toEqual([]);
    expect(s.protocol.state).toBe('open');
  });

  it('405 RESOURCE_LOCKED for another connection\'s exclusive queue', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare(uniqueName('exclusive'), { exclusive: true });
    const other = await openSession();
    try {
      const err = await rejectionOf(other.channel.queueDeclare(queue, { passive: false, exclusive: false }));
      expect(err).toBeInstanceOf(ChannelClosed);
      expect((err as ChannelClosed).code).toBe(405);
    } finally {
      await other.close();
    }
  });

  it('403 ACCESS_REFUSED for a queue named amq.*', async () => {
    s = await openSession();
    const err = await rejectionOf(s.channel.queueDeclare(`amq.${uniqueName('x')}`));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(403);
  });

  it('406 PRECONDITION_FAILED when redeclaring with other arguments', async () => {
    s = await openSession();
    const q = uniqueName('redeclare');
    // Exclusive, so the broker drops it with the connection (auto-delete alone never fires without a consumer).
    await s.channel.queueDeclare(q, { exclusive: true, autoDelete: true, arguments: { 'x-max-length': 5 } });
    const err = await rejectionOf(s.channel.queueDeclare(q, { exclusive: true, autoDelete: true, arguments: { 'x-max-length': 6 } }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
  });

  it('a hard error (prefetchSize, 540) rejects pending calls on every channel with AmqpClosedConnection and reaches onError once', async () => {
    s = await openSession();
    const other = await s.protocol.channel();
    const qos = rejectionOf(s.channel.basicQos({ prefetchSize: 1000 }));
    // Sent after the qos on the same channel: never answered, so still pending when the 540 arrives.
    const queued = rejectionOf(s.channel.queueDeclare('', { exclusive: true }));
    const err = await qos;
    expect(await queued).toBe(err);
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err).not.toBeInstanceOf(ChannelClosed);
    expect((err as AmqpClosedConnection).code).toBe(540);
    expect((err as AmqpClosedConnection).classId).toBe(60);
    expect((err as AmqpClosedConnection).methodId).toBe(10);
    expect(s.protocol.state).toBe('closed');
    const later = await rejectionOf(other.queueDeclare(''));
    expect(later).toBe(err);
    expect(s.errors).toEqual([err]);
  });

  it('immediate publish is sent as asked: the broker ends the connection with 540', async () => {
    s = await openSession();
    const other = await s.protocol.channel();
    const pending = other.queueDeclare(uniqueName('never'), { passive: true }).catch((e: unknown) => e);
    await s.channel.publish('x', '', 'nowhere', {}, { immediate: true }).catch(() => undefined);
    await s.protocol.waitClosed(5000);
    const err = s.protocol.closeError;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err?.code).toBe(540);
    const e2 = await pending;
    expect(e2 === err || (e2 as ChannelClosed).code === 404).toBe(true);
    expect(s.errors).toEqual([err]);
  });

  it('flow(false) is not implemented by RabbitMQ: the connection ends with 540', async () => {
    s = await openSession();
    const err = await rejectionOf(s.channel.flow(false));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(540);
    expect(s.errors).toEqual([err]);
  });

  it('a timed-out basicConsume is cancelled once the broker answers; its messages stay queued', async () => {
    proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    const [t, p] = await connect({ host: proxy.host, port: proxy.port });
    const ch = await p.channel();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.confirmSelect();
    await ch.publish('m', '', queue);
    let calls = 0;
    proxy.pause();
    const err = await rejectionOf(ch.basicConsume(() => void calls++, { queueName: queue, timeout: 100 }));
    expect(err).toBeInstanceOf(TimeoutError);
    proxy.resume();
    await ch.basicQos({ prefetchCount: 1 }); // a round trip after the consume, its cancel and any reject
    await ch.basicQos({ prefetchCount: 1 });
    expect(calls).toBe(0);
    expect(ch.consumerTags).toEqual([]);
    const got = await ch.basicGet(queue, { noAck: true });
    expect(got.message.toString()).toBe('m');
    await p.close();
    t.close();
  });

  it('basicQos with a prefetch count, per channel and global, and flow(true)', async () => {
    s = await openSession();
    await s.channel.basicQos({ prefetchCount: 10 });
    await s.channel.basicQos({ prefetchCount: 5, connectionGlobal: true });
    await s.channel.flow(true);
    expect(s.channel.isOpen).toBe(true);
  });

  it('times out calls with TimeoutError when the broker does not answer; close() still resolves', async () => {
    proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    const errors: Error[] = [];
    const [t, p] = await connect({ host: proxy.host, port: proxy.port, onError: (e) => void errors.push(e) });
    const ch = await p.channel();
    proxy.pause();
    const err = await rejectionOf(ch.queueDeclare('', { exclusive: true, timeout: 150 }));
    expect(err).toBeInstanceOf(TimeoutError);
    await expect(p.channel({ timeout: 100 })).rejects.toBeInstanceOf(TimeoutError);
    const t0 = Date.now();
    await ch.close(0, 'bye', { timeout: 100 });
    expect(ch.isOpen).toBe(false);
    await p.close({ timeout: 150 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(p.state).toBe('closed');
    expect(errors).toEqual([]);
    t.close();
  });

  it('a late reply to a timed-out call is not taken for the next call\'s', async () => {
    proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    const [t, p] = await connect({ host: proxy.host, port: proxy.port });
    const ch = await p.channel();
    proxy.pause();
    const q1 = uniqueName('late1');
    const timedOut = rejectionOf(ch.queueDeclare(q1, { exclusive: true, timeout: 100 }));
    expect(await timedOut).toBeInstanceOf(TimeoutError);
    const q2 = uniqueName('late2');
    const next = ch.queueDeclare(q2, { exclusive: true });
    proxy.resume();
    expect((await next).queue).toBe(q2);
    await p.close();
    t.close();
  });

  it('closing a channel rejects its queued calls with ChannelClosed; the call already sent still gets its reply', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    const sent = ch.queueDeclare('', { exclusive: true });
    const queued = [ch.queueDeclare('', { exclusive: true }), ch.basicQos({ prefetchCount: 1 })].map((p) => rejectionOf(p));
    const closing = ch.close();
    expect((await sent).queue).toMatch(/^amq\.gen-/);
    for (const e of await Promise.all(queued)) expect(e).toBeInstanceOf(ChannelClosed);
    await closing;
    expect(ch.isOpen).toBe(false);
    expect(s.errors).toEqual([]);
  });

  it('channel close from the client: isOpen false, close-ok awaited, calls then reject ChannelClosed', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    expect(ch.isOpen).toBe(true);
    await ch.close();
    expect(ch.isOpen).toBe(false);
    // Again: a call on a closed channel, so it rejects with the channel's close error (API.md).
    const again = await rejectionOf(ch.close());
    expect(again).toBeInstanceOf(ChannelClosed);
    expect((again as ChannelClosed).code).toBe(0);
    expect(await rejectionOf(ch.queueDeclare(''))).toBeInstanceOf(ChannelClosed);
    expect(() => ch.basicRecoverAsync()).toThrow(ChannelClosed);
    await expect(ch.publish('x', '', 'y')).rejects.toBeInstanceOf(ChannelClosed);
  });
});
