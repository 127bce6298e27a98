// AbortSignal on channel calls, channel() and connect(), against the real
// broker: the call rejects with signal.reason, what was not sent is never
// sent, late replies are undone (get-ok nacked back, consume-ok cancelled),
// the channel stays usable, and no listener stays on the signal.
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, fromUrl, ChannelClosed, type AmqpProtocol, type Transport } from '../../src/index.js';
import { AMQP_URL, BROKER_HOST, BROKER_PORT, uniqueName } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

let session: { t: Transport; p: AmqpProtocol } | null = null;
afterEach(async () => {
  if (session !== null) {
    await session.p.close();
    session.t.close();
    session = null;
  }
});

async function open(): Promise<AmqpProtocol> {
  const [t, p] = await fromUrl(AMQP_URL);
  session = { t, p };
  return p;
}

async function queueExists(p: AmqpProtocol, q: string): Promise<boolean> {
  const ch = await p.channel();
  try {
    await ch.queueDeclare(q, { passive: true });
    await ch.close();
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    return false;
  }
}

describe('AbortSignal', () => {
  it('an already-aborted signal rejects with its reason and sends nothing', async () => {
    const p = await open();
    const ch = await p.channel();
    const q = uniqueName('abort-pre');
    const reason = new Error('stop');
    const c = new AbortController();
    c.abort(reason);
    expect(await rejectionOf(ch.queueDeclare(q, { signal: c.signal }))).toBe(reason);
    expect(await rejectionOf(p.channel({ signal: c.signal }))).toBe(reason);
    expect(await queueExists(p, q)).toBe(false);
    expect(ch.isOpen).toBe(true);
  });

  it('a call aborted while queued behind another is never sent; one aborted on the wire rejects at once and the channel goes on', async () => {
    const p = await open();
    const ch = await p.channel();
    const first = uniqueName('abort-first');
    const queued = uniqueName('abort-queued');
    const c = new AbortController();
    const a = ch.queueDeclare(first, { exclusive: true });
    const b = ch.queueDeclare(queued, { exclusive: true, signal: c.signal });
    c.abort();
    expect(await rejectionOf(b)).toBe(c.signal.reason);
    await a;
    expect(await queueExists(p, queued)).toBe(false);

    const onWire = new AbortController();
    // The head of the queue is written at once: aborted right after, its reply is still to come.
    const pending = ch.queueDeclare(uniqueName('abort-wire'), { exclusive: true, signal: onWire.signal });
    onWire.abort(new Error('late'));
    expect(((await rejectionOf(pending)) as Error).message).toBe('late');
    // The late declare-ok is consumed, not taken for the next call's reply.
    const next = await ch.queueDeclare(first, { passive: true });
    expect(next.queue).toBe(first);
  });

  it('basicGet aborted on the wire: a late get-ok is nacked back, the message stays in the queue', async () => {
    const p = await open();
    const ch = await p.channel();
    const q = uniqueName('abort-get');
    await ch.queueDeclare(q, { exclusive: true });
    await ch.confirmSelect();
    await ch.publish('keep me', '', q);
    const c = new AbortController();
    const get = ch.basicGet(q, { signal: c.signal });
    c.abort();
    await rejectionOf(get);
    await waitFor(() => true);
    await sleep(100);
    const again = await ch.basicGet(q, { noAck: true });
    expect(again.message.toString()).toBe('keep me');
    expect(again.redelivered).toBe(true);
  });

  it('basicConsume aborted on the wire: the late consume-ok is cancelled, no consumer is left', async () => {
    const p = await open();
    const ch = await p.channel();
    const q = uniqueName('abort-consume');
    await ch.queueDeclare(q, { exclusive: true });
    const c = new AbortController();
    const consume = ch.basicConsume(() => undefined, { queueName: q, signal: c.signal });
    c.abort();
    await rejectionOf(consume);
    await sleep(150);
    const { consumerCount } = await ch.queueDeclare(q, { passive: true });
    expect(consumerCount).toBe(0);
    expect(ch.consumerTags).toEqual([]);
  });

  it('10,000 calls with one long-lived signal leave no listener on it', async () => {
    const p = await open();
    const ch = await p.channel();
    const q = uniqueName('abort-many');
    await ch.queueDeclare(q, { exclusive: true });
    const c = new AbortController();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) calls.push(ch.queueDeclare(q, { passive: true, signal: c.signal }));
    expect(getEventListeners(c.signal, 'abort').length).toBeGreaterThan(0);
    await Promise.all(calls);
    expect(getEventListeners(c.signal, 'abort').length).toBe(0);
  }, 60_000);

  it('connect: an abort rejects with the reason and leaves no socket', async () => {
    const c = new AbortController();
    const reason = new Error('give up');
    const pending = connect({ host: BROKER_HOST, port: BROKER_PORT, signal: c.signal });
    c.abort(reason);
    expect(await rejectionOf(pending)).toBe(reason);
    const pre = new AbortController();
    pre.abort();
    expect(await rejectionOf(connect({ host: BROKER_HOST, port: BROKER_PORT, signal: pre.signal }))).toBe(pre.signal.reason);
    await sleep(50);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length).toBe(0);
  });
});

describe('AbortSignal on basicCancel', () => {
  it('a cancel aborted while queued is never sent: the consumer stays active and keeps receiving', async () => {
    const [t, p] = await fromUrl(AMQP_URL);
    try {
      const ch = await p.channel();
      const q = uniqueName('abort-cancel');
      await ch.queueDeclare(q, { exclusive: true });
      const got: string[] = [];
      const { consumerTag, consumer } = await ch.basicConsume((_c, body) => void got.push(body.toString()), { queueName: q, noAck: true });
      const c = new AbortController();
      const ahead = ch.queueDeclare(q, { passive: true }); // the cancel queues behind this one
      const cancel = ch.basicCancel(consumerTag, { signal: c.signal });
      c.abort();
      expect(await rejectionOf(cancel)).toBe(c.signal.reason);
      await ahead;
      expect(consumer.state).toBe('active');
      expect(ch.consumerTags).toEqual([consumerTag]);
      expect((await ch.queueDeclare(q, { passive: true })).consumerCount).toBe(1);
      await ch.publish('still here', '', q);
      await waitFor(() => got.length === 1, 5000, 'a delivery after the withdrawn cancel');
      await ch.basicCancel(consumerTag);
      expect(consumer.state).toBe('cancelled');
    } finally {
      await p.close();
      t.close();
    }
  });
});
