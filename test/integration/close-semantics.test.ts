// close() on something already closed (issue 15, API.md "close"): a call on
// a closed channel or connection, so it rejects with that object's close
// error; a close() while a close is in progress waits for that close.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, ChannelClosed } from '../../src/index.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf } from '../support/async.js';

describe('close() of a closed channel or connection', () => {
  let s: Session | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('a second channel.close() after a user close rejects with the channel close error (ChannelClosed, code 0)', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    await ch.close();
    const again = await rejectionOf(ch.close());
    expect(again).toBeInstanceOf(ChannelClosed);
    expect((again as ChannelClosed).code).toBe(0);
    expect((again as ChannelClosed).replyText).toBe('channel closed by the client');
    // The same error as any other call on that channel.
    expect(await rejectionOf(ch.queueDeclare(''))).toBe(again);
    // The connection and the session's other channel are untouched.
    expect(s.protocol.state).toBe('open');
    await s.channel.queueDeclare('', { exclusive: true });
    expect(s.errors).toEqual([]);
  });

  it('channel.close() after the broker closed the channel (404) rejects with that same ChannelClosed', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    const err = await rejectionOf(ch.queueDeclare(uniqueName('missing'), { passive: true }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    expect(ch.isOpen).toBe(false);
    const closing = await rejectionOf(ch.close());
    expect(closing).toBe(err);
    expect(closing).toBeInstanceOf(ChannelClosed);
    expect((closing as ChannelClosed).code).toBe(404);
    expect(await rejectionOf(ch.close())).toBe(err);
    expect(s.protocol.state).toBe('open');
    expect(s.errors).toEqual([]);
  });

  it('a second protocol.close() after it ended rejects with its close error (AmqpClosedConnection, code 200)', async () => {
    s = await openSession();
    await s.protocol.close();
    expect(s.protocol.state).toBe('closed');
    const again = await rejectionOf(s.protocol.close());
    expect(again).toBeInstanceOf(AmqpClosedConnection);
    expect((again as AmqpClosedConnection).code).toBe(200);
    expect(again).toBe(s.protocol.closeError);
    // Its channels were closed with the connection: closing one rejects with the connection's error.
    expect(await rejectionOf(s.channel.close())).toBe(again);
    expect(s.errors).toEqual([]);
  });

  it('protocol.close() after the broker ended the connection (540) rejects with that AmqpClosedConnection', async () => {
    s = await openSession();
    const err = await rejectionOf(s.channel.basicQos({ prefetchSize: 1000 }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(540);
    expect(s.protocol.state).toBe('closed');
    const closing = await rejectionOf(s.protocol.close());
    expect(closing).toBe(err);
    expect(closing).toBe(s.protocol.closeError);
    expect(await rejectionOf(s.channel.close())).toBe(err);
  });

  it('concurrent channel.close() calls share one promise and both resolve', async () => {
    s = await openSession();
    const ch = await s.protocol.channel();
    const first = ch.close();
    const second = ch.close(200, 'ignored: a close is already in progress');
    expect(second).toBe(first);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(ch.isOpen).toBe(false);
    // Once closed, a third call rejects.
    expect(await rejectionOf(ch.close())).toBeInstanceOf(ChannelClosed);
    expect(s.errors).toEqual([]);
  });

  it('concurrent protocol.close() calls share one promise and both resolve', async () => {
    s = await openSession();
    const first = s.protocol.close();
    const second = s.protocol.close({ timeout: 50 });
    expect(second).toBe(first);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(s.protocol.state).toBe('closed');
    const third = await rejectionOf(s.protocol.close());
    expect(third).toBeInstanceOf(AmqpClosedConnection);
    expect((third as AmqpClosedConnection).code).toBe(200);
    expect(s.errors).toEqual([]);
  });

  it('RpcClient.close() and RpcServer.close() still resolve once their channels are closed (by the connection, or a first close)', async () => {
    s = await openSession();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    const client = await s.protocol.rpcClient();
    const server = await s.protocol.rpcServer(queue, (body) => body);
    await client.close();
    await expect(client.close()).resolves.toBeUndefined();
    await s.protocol.close();
    await expect(server.close()).resolves.toBeUndefined();
    expect(s.errors).toEqual([]);
  });

  it('rpcServer on a missing queue rejects with the broker 404, not with a close error', async () => {
    s = await openSession();
    const err = await rejectionOf(s.protocol.rpcServer(uniqueName('no-such-queue'), (body) => body));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    expect(s.protocol.state).toBe('open');
    expect(s.errors).toEqual([]);
  });
});
