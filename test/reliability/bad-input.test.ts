// Scenario 8: bad input from the user. Each mistake is refused with a clear
// error (TypeError for bad arguments, ChannelClosed for a closed channel),
// nothing reaches the wire (byte count through a TCP proxy), promise-returning
// methods reject instead of throwing, and the connection and the channel stay
// healthy afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosed, EmptyQueue, connect, typed, type GetResult, type AmqpProtocol, type Channel, type Transport } from '../../src/index.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { closeIfOpen, BROKER_HOST, BROKER_PORT } from '../support/broker.js';
import { sleep, turns, waitFor } from '../support/async.js';
import { startLeakCheck, type LeakCheck } from '../support/leaks.js';

let proxy: TcpProxy | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
  await proxy?.close();
  proxy = undefined;
});

interface Rig {
  t: Transport;
  p: AmqpProtocol;
  ch: Channel;
  errors: Error[];
  queue: string;
  /** Bytes the client has sent so far (settled: waits for in-flight bytes). */
  sent(): Promise<number>;
  leaks: LeakCheck;
}

async function rig(): Promise<Rig> {
  const leaks = startLeakCheck();
  proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
  const errors: Error[] = [];
  const [t, p] = await connect({ host: proxy.host, port: proxy.port, heartbeat: 0, onError: (e) => void errors.push(e) });
  cleanup = async () => {
    await closeIfOpen(p, { timeout: 500 });
    t.close();
    leaks.stop();
  };
  const ch = await p.channel();
  const { queue } = await ch.queueDeclare('', { exclusive: true });
  const px = proxy;
  return {
    t,
    p,
    ch,
    errors,
    queue,
    leaks,
    async sent() {
      await turns();
      await sleep(30);
      return px.connections[0]!.bytesUp;
    },
  };
}

/** A promise-returning call: must not throw, must reject with `cls` matching `text`. */
async function rejects(call: () => Promise<unknown>, cls: new (...a: never[]) => Error, text: RegExp): Promise<void> {
  let p: Promise<unknown> | undefined;
  expect(() => (p = call()), 'threw synchronously instead of rejecting').not.toThrow();
  const err = await p!.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'resolved instead of rejecting').not.toBeNull();
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(text);
}

async function healthy(r: Rig): Promise<void> {
  expect(r.p.state).toBe('open');
  expect(r.ch.isOpen).toBe(true);
  await r.ch.publish('fine', '', r.queue);
  const got = await getOne(r.ch, r.queue);
  expect(got.message.toString()).toBe('fine');
  r.ch.basicClientAck(got.deliveryTag);
  expect(r.errors).toEqual([]);
}

function circularTable(): Record<string, unknown> {
  const t: Record<string, unknown> = { a: 1 };
  t['self'] = t;
  return t;
}

function circularArray(): unknown[] {
  const a: unknown[] = [1];
  a.push(a);
  return a;
}

/** basic.get until the (just published) message has been routed. */
async function getOne(ch: Channel, queue: string): Promise<GetResult> {
  for (let i = 0; ; i++) {
    try {
      return await ch.basicGet(queue);
    } catch (e) {
      if (!(e instanceof EmptyQueue) || i > 100) throw e;
      await sleep(10);
    }
  }
}

const long = 'k'.repeat(256);
const longUtf8 = 'é'.repeat(128); // 128 characters, 256 bytes

describe('scenario 8: bad input from the user', () => {
  it('bad payloads, over-long shortstrs, unencodable headers/properties/arguments: TypeError, nothing written, connection healthy', async () => {
    const r = await rig();
    const { ch, queue } = r;
    const before = await r.sent();
    const any = (v: unknown): never => v as never;

    // payloads
    for (const payload of [123, {}, null, undefined, [1, 2], new Date(), Symbol('s'), 10n, () => 'x']) {
      await rejects(() => ch.publish(any(payload), '', queue), TypeError, /payload/);
    }
    // shortstr fields over 255 bytes
    await rejects(() => ch.publish('x', '', long), TypeError, /routing-key|255/);
    await rejects(() => ch.publish('x', longUtf8, 'rk'), TypeError, /exchange|255/);
    await rejects(() => ch.queueDeclare(long), TypeError, /queue/);
    await rejects(() => ch.queueDeclare(longUtf8), TypeError, /queue/);
    await rejects(() => ch.queueBind(queue, 'amq.direct', long), TypeError, /routing-key/);
    await rejects(() => ch.exchangeDeclare(long, 'direct'), TypeError, /exchange/);
    await rejects(() => ch.exchangeDeclare('x', long), TypeError, /type/);
    await rejects(() => ch.basicConsume(() => undefined, { queueName: queue, consumerTag: long }), TypeError, /consumer-tag/);
    await rejects(() => ch.publish('x', '', queue, { contentType: long }), TypeError, /content-type/);
    await rejects(() => ch.publish('x', '', queue, { messageId: longUtf8 }), TypeError, /message-id/);
    // headers / arguments that cannot be encoded
    const badTables: Record<string, unknown>[] = [
      { f: () => 1 },
      { s: Symbol('x') },
      { big: 2n ** 70n },
      { huge: 2 ** 64 },
      { m: new Map([[1, 2]]) },
      { nested: { deeper: { fn: () => 0 } } },
      { arr: [1, () => 2] },
      { toobig: 2n ** 63n },
      circularTable(),
      { list: circularArray() },
    ];
    for (const headers of badTables) {
      await rejects(() => ch.publish('x', '', queue, { headers: any(headers) }), TypeError, /./);
      await rejects(() => ch.queueDeclare('', { exclusive: true, arguments: any(headers) }), TypeError, /./);
    }
    // properties of the wrong type or range
    await rejects(() => ch.publish('x', '', queue, { deliveryMode: 256 }), TypeError, /delivery-mode/);
    await rejects(() => ch.publish('x', '', queue, { priority: -1 }), TypeError, /priority/);
    await rejects(() => ch.publish('x', '', queue, { timestamp: new Date('nope') }), TypeError, /timestamp/);
    await rejects(() => ch.publish('x', '', queue, { messageId: any(42) }), TypeError, /message-id/);
    await rejects(() => ch.publish('x', '', queue, { headers: any('not a table') }), TypeError, /headers/);
    expect(() => typed('uint8', 300)).toThrow(TypeError);
    // names and numbers of the wrong type or range
    await rejects(() => ch.publish('x', any(123), queue), TypeError, /exchange/);
    await rejects(() => ch.publish('x', '', any(undefined)), TypeError, /routing-key/);
    await rejects(() => ch.queueDeclare(any(42)), TypeError, /queue/);
    await rejects(() => ch.basicQos({ prefetchCount: 70_000 }), TypeError, /prefetch-count/);
    await rejects(() => ch.basicQos({ prefetchCount: -1 }), TypeError, /prefetch-count/);
    // Refused calls queued behind one on the wire: they fail when their turn comes, still before writing.
    const inflight = ch.queueDeclare('', { exclusive: true });
    const queuedBad = [ch.queueDeclare(long), ch.basicQos({ prefetchCount: 1.5 }), ch.queueBind(queue, 'amq.direct', longUtf8)];
    const queuedGood = ch.queueDeclare('', { exclusive: true });
    for (const q of queuedBad) expect(await q.then(() => null, (e: unknown) => e)).toBeInstanceOf(TypeError);
    await inflight;
    await queuedGood;
    const afterQueued = await r.sent();
    // bad arguments to consume
    await rejects(() => ch.basicConsume(any('not a function'), { queueName: queue }), TypeError, /callback/);
    await rejects(() => ch.basicConsume(() => undefined, { queueName: queue, concurrency: 0 }), TypeError, /concurrency/);
    // ack/nack/reject: void methods, throw synchronously
    for (const tag of [-1, 1.5, '1', NaN, 2 ** 64, null]) {
      expect(() => ch.basicClientAck(any(tag))).toThrow(TypeError);
      expect(() => ch.basicClientNack(any(tag))).toThrow(TypeError);
      expect(() => ch.basicReject(any(tag))).toThrow(TypeError);
    }

    // Only the two good declares were written (they are the only bytes between `before` and `afterQueued`).
    expect(await r.sent()).toBe(afterQueued);
    expect(afterQueued - before).toBeLessThan(100);
    await healthy(r);
    // The channel's call queue is not stuck behind a refused call.
    await ch.queueDeclare('', { exclusive: true });
    await r.p.close();
    r.t.close();
    await proxy!.close();
    proxy = undefined;
    await r.leaks.assertClean();
  }, 30_000);

  it('a channel used after close: ChannelClosed (rejections and throws), nothing written, connection healthy', async () => {
    const r = await rig();
    const closed = await r.p.channel();
    await closed.close();
    const before = await r.sent();
    await rejects(() => closed.publish('x', '', r.queue), ChannelClosed, /./);
    await rejects(() => closed.queueDeclare(''), ChannelClosed, /./);
    await rejects(() => closed.basicGet(r.queue), ChannelClosed, /./);
    await rejects(() => closed.basicConsume(() => undefined, { queueName: r.queue }), ChannelClosed, /./);
    await rejects(() => closed.confirmSelect(), ChannelClosed, /./);
    await rejects(() => closed.basicQos({ prefetchCount: 1 }), ChannelClosed, /./);
    expect(() => closed.basicClientAck(1)).toThrow(ChannelClosed);
    expect(() => closed.basicClientNack(1)).toThrow(ChannelClosed);
    expect(() => closed.basicReject(1)).toThrow(ChannelClosed);
    expect(() => closed.basicRecoverAsync()).toThrow(ChannelClosed);
    // Closing again is a call on a closed channel: it rejects with the close error (code 0: closed by us), writing nothing.
    await rejects(() => closed.close(), ChannelClosed, /channel closed by the client/);
    expect(((await closed.close().catch((e: unknown) => e)) as ChannelClosed).code).toBe(0);
    expect(await r.sent()).toBe(before);
    await healthy(r);
    await r.p.close();
    r.t.close();
    await proxy!.close();
    proxy = undefined;
    await r.leaks.assertClean();
  }, 30_000);

  it('acking a delivery tag this channel never delivered (one from another channel) is refused before anything is written', async () => {
    const r = await rig();
    const other = await r.p.channel();
    await r.ch.publish('m', '', r.queue);
    const got = await getOne(other, r.queue); // delivery tag 1 on `other`
    expect(got.deliveryTag).toBe(1);
    const before = await r.sent();
    // r.ch never received a delivery: tag 1 can only belong to another channel.
    let thrown: unknown = null;
    try {
      r.ch.basicClientAck(got.deliveryTag);
    } catch (e) {
      thrown = e;
    }
    await sleep(100);
    expect(await r.sent(), 'bytes were written for an ack of a tag the channel never delivered').toBe(before);
    expect(thrown).toBeInstanceOf(Error);
    await healthy(r);
    other.basicClientAck(got.deliveryTag);
    await r.p.close();
    r.t.close();
    await proxy!.close();
    proxy = undefined;
    await r.leaks.assertClean();
  }, 30_000);

  it('whatever a foreign delivery tag does, only that channel suffers: ChannelClosed 406 at worst, connection and other channels healthy', async () => {
    const r = await rig();
    const other = await r.p.channel();
    const victim = await r.p.channel();
    await r.ch.publish('m', '', r.queue);
    const got = await getOne(other, r.queue);
    try {
      victim.basicClientAck(got.deliveryTag + 1000);
    } catch {
      // refused locally: fine
    }
    const next = await victim.queueDeclare('', { exclusive: true }).then(
      () => null,
      (e: unknown) => e,
    );
    if (next !== null) {
      expect(next).toBeInstanceOf(ChannelClosed);
      expect((next as ChannelClosed).code).toBe(406);
      expect((next as ChannelClosed).replyText).toMatch(/unknown delivery tag/);
    }
    await waitFor(() => r.p.state === 'open');
    other.basicClientAck(got.deliveryTag);
    await healthy(r);
    await r.p.close();
    r.t.close();
    await proxy!.close();
    proxy = undefined;
    await r.leaks.assertClean();
  }, 30_000);
});
