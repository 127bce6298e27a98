import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosed, MessageReturned, PublishFailed, ReturnEnvelope, Properties, AmqpClosedConnection, type Channel } from '../../src/index.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, waitFor } from '../support/async.js';

describe('publisher confirms and returns', () => {
  let s: Session;
  afterEach(async () => {
    await s?.close();
  });

  it('1000 concurrent confirmed publishes all resolve', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.confirmSelect();
    const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => ch.publish(`m${i}`, '', queue)));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1000);
    expect((await ch.queueDeclare(queue, { passive: true })).messageCount).toBe(1000);
  });

  it('a nack rejects that publish with PublishFailed carrying its own delivery tag', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('reject-publish');
    await ch.queueDeclare(q, { exclusive: true, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
    await ch.confirmSelect();
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => ch.publish(String(i), '', q)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    const tags = results.map((r) => (r.status === 'rejected' ? (r.reason as PublishFailed) : null));
    expect(tags[2]).toBeInstanceOf(PublishFailed);
    expect(tags[2]!.deliveryTag).toBe(3);
    expect(tags[3]!.deliveryTag).toBe(4);
    await ch.queuePurge(q);
    await ch.publish('after', '', q);
  });

  it('unsettled publishes reject with the channel error that stranded them', async () => {
    s = await openSession();
    const ch = s.channel;
    await ch.confirmSelect();
    const missing = uniqueName('no-such-exchange');
    const p1 = ch.publish('a', missing, '');
    const p2 = ch.publish('b', missing, '');
    const [e1, e2] = await Promise.all([rejectionOf(p1), rejectionOf(p2)]);
    expect(e1).toBeInstanceOf(ChannelClosed);
    expect((e1 as ChannelClosed).code).toBe(404);
    expect(e2).toBe(e1);
  });

  it('unsettled publishes reject with AmqpClosedConnection when the connection ends under them', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.confirmSelect();
    const pending = Array.from({ length: 50 }, () => ch.publish(Buffer.alloc(1000), '', queue).catch((e: unknown) => e));
    s.transport.close();
    const outcomes = await Promise.all(pending);
    for (const o of outcomes) expect(o).toBeInstanceOf(AmqpClosedConnection);
  });

  it('an unroutable mandatory publish reaches returnCallback with body, ReturnEnvelope and properties', async () => {
    s = await openSession();
    const returned: [Channel, Buffer, ReturnEnvelope, Properties][] = [];
    const ch = await s.protocol.channel({ returnCallback: (c, body, env, props) => void returned.push([c, body, env, props]) });
    const rk = uniqueName('nowhere');
    // Without confirm mode (in confirm mode the publish itself rejects: publish-outcome.test.ts).
    await ch.publish('lost', '', rk, { messageId: 'r1' }, { mandatory: true });
    await waitFor(() => returned.length === 1);
    const [c, body, env, props] = returned[0]!;
    expect(c).toBe(ch);
    expect(body.toString()).toBe('lost');
    expect(env).toBeInstanceOf(ReturnEnvelope);
    expect(env).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchangeName: '', routingKey: rk });
    expect(props.messageId).toBe('r1');
    // Without mandatory, nothing comes back.
    await ch.publish('dropped', '', rk);
    expect(returned.length).toBe(1);
  });

  it('a returned message with no returnCallback goes to onError as MessageReturned', async () => {
    s = await openSession();
    const ch = s.channel;
    ch.returnCallback = null;
    await ch.publish('lost', '', uniqueName('nowhere'), {}, { mandatory: true });
    await waitFor(() => s.errors.length === 1);
    const err = s.errors[0] as MessageReturned;
    expect(err).toBeInstanceOf(MessageReturned);
    expect(err.replyCode).toBe(312);
    expect(err.body.toString()).toBe('lost');
    expect(err.properties).toBeInstanceOf(Properties);
  });

  it('a throwing returnCallback goes to onError', async () => {
    s = await openSession();
    const ch = await s.protocol.channel({
      returnCallback: () => {
        throw new Error('return boom');
      },
    });
    await ch.publish('lost', '', uniqueName('nowhere'), {}, { mandatory: true });
    await waitFor(() => s.errors.length === 1);
    expect(s.errors[0]!.message).toBe('return boom');
    expect(ch.isOpen).toBe(true);
  });

  it('ignored publish promises never become unhandled rejections (plain, confirmed, on a closed channel)', async () => {
    s = await openSession();
    const plain = await s.protocol.channel();
    const confirmed = await s.protocol.channel();
    await confirmed.confirmSelect();
    const { queue } = await plain.queueDeclare('', { exclusive: true });
    const doomed = await s.protocol.channel();
    await doomed.close();
    for (let i = 0; i < 20; i++) {
      void plain.publish('x', '', queue);
      void confirmed.publish('x', '', queue);
      void doomed.publish('x', '', queue);
      void plain.publish('x', 'e'.repeat(300), queue);
    }
    s.transport.close();
    await s.protocol.waitClosed(2000);
    await new Promise((r) => setTimeout(r, 50));
    // The setup file fails this test if any of the promises above was reported unhandled.
    expect(s.protocol.state).toBe('closed');
  });

  it('publish rejects bad arguments with TypeError without breaking the channel', async () => {
    s = await openSession();
    const ch = s.channel;
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await expect(ch.publish('x', 'e'.repeat(256), '')).rejects.toBeInstanceOf(TypeError);
    await expect(ch.publish('x', '', queue, { priority: 300 })).rejects.toBeInstanceOf(TypeError);
    await expect(ch.publish('x', '', queue, { headers: { f: (() => 1) as unknown as string } })).rejects.toBeInstanceOf(TypeError);
    await expect(ch.publish(42 as unknown as string, '', queue)).rejects.toBeInstanceOf(TypeError);
    await ch.publish('ok', '', queue);
    const got = await ch.basicGet(queue, { noAck: true });
    expect(got.message.toString()).toBe('ok');
  });
});
