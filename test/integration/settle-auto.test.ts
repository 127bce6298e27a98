// settle: 'auto' (API.md "Settling for the user"): the library acks a
// delivery once the callback returns or resolves (for the iterator: when
// the loop asks for the next message), nacks it with requeue:
// requeueOnError when the callback throws or rejects (the error still
// reaches onError), and never settles a delivery the user settled by hand.
import { afterEach, describe, expect, it } from 'vitest';
import { type Channel, type Message } from '../../src/index.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

async function session(): Promise<Session> {
  const s = await openSession();
  sessions.push(s);
  return s;
}

async function queueWith(ch: Channel, n: number): Promise<string> {
  const { queue } = await ch.queueDeclare(uniqueName('auto'), { exclusive: true });
  for (let i = 0; i < n; i++) await ch.publish(`m${i}`, '', queue);
  return queue;
}

const count = async (ch: Channel, q: string): Promise<number> => (await ch.queueDeclare(q, { passive: true })).messageCount;

describe("basicConsume settle: 'auto'", () => {
  it('acks after a sync callback and after an async one resolves; the channel stays open (no double ack)', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 10);
    const seen: number[] = [];
    await s.channel.basicQos({ prefetchCount: 3 });
    await s.channel.basicConsume(
      async (_c, _b, env) => {
        await sleep(1);
        seen.push(env.deliveryTag);
      },
      { queueName: q, settle: 'auto' },
    );
    await waitFor(() => seen.length === 10, 5000, 'ten deliveries');
    await sleep(50);
    expect(await count(s.channel, q)).toBe(0);
    const q2 = await queueWith(s.channel, 5);
    let n = 0;
    await s.channel.basicConsume(() => void n++, { queueName: q2, settle: 'auto', concurrency: 2 });
    await waitFor(() => n === 5);
    await sleep(50);
    expect(await count(s.channel, q2)).toBe(0);
    expect(s.channel.isOpen).toBe(true);
    expect(s.errors).toEqual([]);
  });

  it('a callback that acked, nacked or rejected by hand is not settled again (no 406 PRECONDITION_FAILED)', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 6);
    let n = 0;
    await s.channel.basicConsume(
      async (c, _b, env) => {
        n++;
        if (env.deliveryTag % 3 === 0) c.basicClientAck(env.deliveryTag);
        else if (env.deliveryTag % 3 === 1) c.basicReject(env.deliveryTag, { requeue: false });
        else c.basicClientNack(env.deliveryTag, { requeue: false });
      },
      { queueName: q, settle: 'auto' },
    );
    await waitFor(() => n === 6);
    await sleep(100);
    expect(s.channel.isOpen).toBe(true);
    expect(await count(s.channel, q)).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('a throw or rejection nacks without requeue by default, and reaches onError', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 2);
    let n = 0;
    await s.channel.basicConsume(
      (_c, body) => {
        n++;
        if (body.toString() === 'm0') throw new Error('sync boom');
        return Promise.reject(new Error('async boom'));
      },
      { queueName: q, settle: 'auto' },
    );
    await waitFor(() => s.errors.length === 2);
    expect(s.errors.map((e) => e.message).sort()).toEqual(['async boom', 'sync boom']);
    await sleep(50);
    expect(n).toBe(2);
    expect(await count(s.channel, q)).toBe(0);
    expect(s.channel.isOpen).toBe(true);
  });

  it('requeueOnError: true requeues what failed (it comes back redelivered)', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 1);
    const deliveries: boolean[] = [];
    await s.channel.basicConsume(
      (_c, _b, env) => {
        deliveries.push(env.isRedeliver);
        if (!env.isRedeliver) throw new Error('first time fails');
      },
      { queueName: q, settle: 'auto', requeueOnError: true },
    );
    await waitFor(() => deliveries.length === 2);
    await sleep(50);
    expect(deliveries).toEqual([false, true]);
    expect(await count(s.channel, q)).toBe(0);
    expect(s.errors.map((e) => e.message)).toEqual(['first time fails']);
  });

  it("rejects settle: 'auto' with noAck, and an unknown settle mode, with TypeError", async () => {
    const s = await session();
    expect(await rejectionOf(s.channel.basicConsume(() => undefined, { queueName: 'x', noAck: true, settle: 'auto' }))).toBeInstanceOf(TypeError);
    expect(await rejectionOf(s.channel.basicConsume(() => undefined, { queueName: 'x', settle: 'later' as never }))).toBeInstanceOf(TypeError);
    expect(s.channel.isOpen).toBe(true);
  });
});

describe("consume settle: 'auto'", () => {
  it('acks the message the loop held when it asks for the next one; a hand-settled one is not settled again', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 6);
    const consumer = await s.channel.consume(q, { prefetch: 2, settle: 'auto' });
    const got: string[] = [];
    for await (const msg of consumer) {
      got.push(msg.body.toString());
      if (got.length === 2) msg.ack();
      if (got.length === 3) msg.reject();
      if (got.length === 6) break;
    }
    // m0..m4 settled (m5 is held when the loop was left: still the user's)
    expect(await count(s.channel, q)).toBe(0);
    expect(s.channel.isOpen).toBe(true);
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('the message held when the loop is left stays the user\'s: not acked, can be nacked back by hand', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 3);
    const consumer = await s.channel.consume(q, { prefetch: 3, settle: 'auto' });
    await sleep(200);
    let held: Message | undefined;
    for await (const msg of consumer) {
      held = msg;
      break;
    }
    // Two requeued at the cancel, one held.
    expect(await count(s.channel, q)).toBe(2);
    held!.nack();
    await sleep(50);
    expect(await count(s.channel, q)).toBe(3);
    expect(s.channel.isOpen).toBe(true);
  });

  it('a loop that throws leaves its message unsettled (the user\'s), the rest requeued', async () => {
    const s = await session();
    const q = await queueWith(s.channel, 2);
    const consumer = await s.channel.consume(q, { prefetch: 2, settle: 'auto' });
    await sleep(200);
    let held: Message | undefined;
    const err = await rejectionOf(
      (async () => {
        for await (const msg of consumer) {
          held = msg;
          throw new Error('boom');
        }
      })(),
    );
    expect((err as Error).message).toBe('boom');
    expect(await count(s.channel, q)).toBe(1);
    held!.ack();
    expect(await count(s.channel, q)).toBe(1);
  });
});
