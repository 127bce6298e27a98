// One outcome per publish on a confirm channel (API.md "Publish outcome",
// "Outcome"): ack → resolves; a returned mandatory publish → its own
// MessageReturned (with its deliveryTag; returnCallback not called); nack →
// PublishFailed; the channel's end → the close error. Matched by the
// x-amqp091-seq header, so exact with many publishes in flight, identical
// bodies included. Also waitForConfirms. Against the real broker.
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosed, MessageReturned, PublishFailed, type Channel } from '../../src/index.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, sleep } from '../support/async.js';
import { liveHandles } from '../support/leaks.js';

let s: Session | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** How a publish ended: 'ok', or the error. */
function outcome(p: Promise<void>): Promise<'ok' | Error> {
  return p.then(
    () => 'ok' as const,
    (e: unknown) => e as Error,
  );
}

async function confirmChannel(returned: unknown[]): Promise<Channel> {
  s = await openSession();
  const ch = await s.protocol.channel({ returnCallback: (_c, body) => void returned.push(body.toString()) });
  await ch.confirmSelect();
  return ch;
}

describe('publish outcome on a confirm channel', () => {
  it('1,000 mandatory publishes in flight, routable and unroutable interleaved: each settles by its index', async () => {
    const returnedToCallback: unknown[] = [];
    const ch = await confirmChannel(returnedToCallback);
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    const nowhere = uniqueName('nowhere');
    const n = 1000;
    // Unroutable when i % 3 === 1 or i % 7 === 0; bodies repeat (identical publishes both ways).
    const unroutable = (i: number): boolean => i % 3 === 1 || i % 7 === 0;
    const props = (i: number): { messageId: string; headers?: Record<string, string> } =>
      i % 2 === 0 ? { messageId: `m${i}`, headers: { k: `v${i}` } } : { messageId: `m${i}` };
    const given = Array.from({ length: n }, (_, i) => props(i));
    const publishes = given.map((p, i) => outcome(ch.publish(`body-${i % 5}`, '', unroutable(i) ? nowhere : queue, p, { mandatory: true })));
    const results = await Promise.all(publishes);
    let returnedCount = 0;
    results.forEach((r, i) => {
      if (!unroutable(i)) {
        expect(r, `publish ${i}`).toBe('ok');
        return;
      }
      returnedCount++;
      expect(r, `publish ${i}`).toBeInstanceOf(MessageReturned);
      const e = r as MessageReturned;
      expect(e.deliveryTag).toBe(i + 1);
      expect(e.replyCode).toBe(312);
      expect(e.routingKey).toBe(nowhere);
      expect(e.body.toString()).toBe(`body-${i % 5}`);
      expect(e.properties.messageId).toBe(`m${i}`);
      // The seq header is taken out: headers as the caller gave them.
      expect(e.properties.headers).toEqual(i % 2 === 0 ? { k: `v${i}` } : undefined);
    });
    expect(returnedCount).toBeGreaterThan(300);
    expect(returnedToCallback).toEqual([]);
    // The caller's objects were never changed.
    given.forEach((p, i) => expect(p).toEqual(props(i)));
    // Consumers see the header (an integer: the delivery tag).
    const m = await ch.basicGet(queue, { noAck: true });
    const firstRouted = results.findIndex((_, i) => !unroutable(i));
    expect(m.properties.headers?.['x-amqp091-seq']).toBe(firstRouted + 1);
    expect(s!.errors).toEqual([]);
  });

  it('non-mandatory publishes carry no header and an unroutable one resolves; without confirm mode returns still go to returnCallback', async () => {
    const returned: unknown[] = [];
    const ch = await confirmChannel(returned);
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.publish('plain', '', queue);
    await ch.publish('dropped', '', uniqueName('nowhere'));
    const m = await ch.basicGet(queue, { noAck: true });
    expect(m.properties.headers).toBeUndefined();
    const plain = await s!.protocol.channel({ returnCallback: (_c, body, _e, props) => void returned.push([body.toString(), props.headers]) });
    await plain.publish('lost', '', uniqueName('nowhere'), {}, { mandatory: true });
    await plain.queueDeclare('', { exclusive: true }); // a round trip: the return has come
    expect(returned).toEqual([['lost', undefined]]);
  });

  it('a nacked publish rejects with PublishFailed carrying its delivery tag', async () => {
    const ch = await confirmChannel([]);
    const { queue } = await ch.queueDeclare('', { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    const first = outcome(ch.publish('1', '', queue, undefined, { mandatory: true }));
    const second = outcome(ch.publish('2', '', queue, undefined, { mandatory: true }));
    expect(await first).toBe('ok');
    const err = await second;
    expect(err).toBeInstanceOf(PublishFailed);
    expect((err as PublishFailed).deliveryTag).toBe(2);
  });

  it('the channel closing rejects unsettled publishes with the close error', async () => {
    const ch = await confirmChannel([]);
    const missing = uniqueName('missing');
    const p = ch.publish('x', missing, 'rk', undefined, { mandatory: true });
    const err = await rejectionOf(p);
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    expect(await ch.closed).toBe(err);
  });
});

describe('waitForConfirms', () => {
  it('resolves once every publish so far is acked', async () => {
    const ch = await confirmChannel([]);
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await expect(ch.waitForConfirms()).resolves.toBeUndefined();
    const ps = Array.from({ length: 200 }, (_, i) => ch.publish(`m${i}`, '', queue));
    let settled = 0;
    for (const p of ps) void p.then(() => settled++);
    await ch.waitForConfirms({ timeout: 5000 });
    expect(settled).toBe(200);
  });

  it('rejects with the earliest failure in publish order, once all settled', async () => {
    const ch = await confirmChannel([]);
    const { queue } = await ch.queueDeclare('', { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    const { queue: free } = await ch.queueDeclare('', { exclusive: true });
    const ps = [
      ch.publish('ok', '', free),
      ch.publish('fills', '', queue),
      ch.publish('returned', '', uniqueName('nowhere'), undefined, { mandatory: true }),
      ch.publish('nacked', '', queue),
      ch.publish('ok', '', free),
    ];
    for (const p of ps) p.catch(() => undefined);
    const err = await rejectionOf(ch.waitForConfirms());
    expect(err).toBeInstanceOf(MessageReturned);
    expect((err as MessageReturned).deliveryTag).toBe(3);
    const outcomes = await Promise.all(ps.map(outcome));
    expect(outcomes[3]).toBeInstanceOf(PublishFailed);
    // Later calls consider only what was unsettled when they were made.
    await expect(ch.waitForConfirms()).resolves.toBeUndefined();
  });

  it('leaves no timer or listener behind', async () => {
    const ch = await confirmChannel([]);
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await sleep(10);
    const before = liveHandles().timers;
    for (let i = 0; i < 50; i++) {
      void ch.publish('x', '', queue, undefined, { mandatory: true });
      await ch.waitForConfirms({ timeout: 10_000 });
    }
    await sleep(10);
    expect(liveHandles().timers).toBeLessThanOrEqual(before);
    expect(ch.eventNames()).toEqual([]);
  });

  it('TypeError on a channel not in confirm mode', async () => {
    s = await openSession();
    const err = await rejectionOf(s.channel.waitForConfirms());
    expect(err).toBeInstanceOf(TypeError);
  });
});
