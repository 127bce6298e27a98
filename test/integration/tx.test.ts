// Transactions (API.md "Transactions, secrets, RPC"): tx.select, commit and
// rollback against the broker, and RabbitMQ's refusal of tx on a confirm channel.
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosed, EmptyQueue } from '../../src/index.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf } from '../support/async.js';

describe('transactions', () => {
  let s: Session | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('rollback discards the publishes: the queue stays empty', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('tx-rollback');
    await ch.queueDeclare(q, { exclusive: true });
    await ch.txSelect();
    // In tx mode a publish resolves once written.
    await ch.publish('one', '', q);
    await ch.publish('two', '', q);
    await ch.txRollback();
    expect((await ch.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    expect(await rejectionOf(ch.basicGet(q, { noAck: true }))).toBeInstanceOf(EmptyQueue);
    // The channel stays in tx mode and usable: a commit after the rollback delivers.
    await ch.publish('three', '', q);
    await ch.txCommit();
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.toString()).toBe('three');
  });

  it('commit delivers the publishes, and nothing arrives before it', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('tx-commit');
    await ch.queueDeclare(q, { exclusive: true });
    await ch.txSelect({ timeout: 5000 });
    for (let i = 0; i < 5; i++) await ch.publish(`m${i}`, '', q);
    // Checked on another channel: uncommitted publishes are invisible.
    const other = await s.protocol.channel();
    expect((await other.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    await ch.txCommit({ timeout: 5000 });
    expect((await other.queueDeclare(q, { passive: true })).messageCount).toBe(5);
    const bodies: string[] = [];
    for (let i = 0; i < 5; i++) bodies.push((await other.basicGet(q, { noAck: true })).message.toString());
    expect(bodies).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('an ack in a rolled-back transaction does not settle the message', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('tx-ack');
    await ch.queueDeclare(q);
    await ch.publish('x', '', q);
    await ch.txSelect();
    const got = await ch.basicGet(q);
    ch.basicClientAck(got.deliveryTag);
    await ch.txRollback();
    // Still unacked: closing the channel puts it back in the queue.
    await ch.close();
    const other = await s.protocol.channel();
    expect((await other.queueDeclare(q, { passive: true })).messageCount).toBe(1);
    await other.queueDelete(q);
  });

  it('an ack in a committed transaction settles the message', async () => {
    s = await openSession();
    const ch = s.channel;
    const q = uniqueName('tx-ack-commit');
    await ch.queueDeclare(q);
    await ch.publish('x', '', q);
    await ch.txSelect();
    const got = await ch.basicGet(q);
    ch.basicClientAck(got.deliveryTag);
    await ch.txCommit();
    await ch.close();
    const other = await s.protocol.channel();
    expect((await other.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    await other.queueDelete(q);
  });

  it('txSelect on a channel in confirm mode is refused: ChannelClosed 406', async () => {
    s = await openSession();
    const ch = s.channel;
    await ch.confirmSelect();
    const err = await rejectionOf(ch.txSelect());
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
    expect((err as ChannelClosed).replyText).toMatch(/PRECONDITION_FAILED/);
    expect(ch.isOpen).toBe(false);
    // The connection is unharmed.
    const again = await s.protocol.channel();
    await again.txSelect();
    expect(s.errors).toEqual([]);
  });

  it('tx calls on a closed channel reject with ChannelClosed', async () => {
    s = await openSession();
    const ch = s.channel;
    await ch.close();
    for (const p of [ch.txSelect(), ch.txCommit(), ch.txRollback()]) expect(await rejectionOf(p)).toBeInstanceOf(ChannelClosed);
  });

  it('txCommit without txSelect is refused by the broker (406)', async () => {
    s = await openSession();
    const err = await rejectionOf(s.channel.txCommit());
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
  });
});
