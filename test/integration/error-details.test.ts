// Errors say what happened in words: the method the broker refused (by
// name, not only class/method ids), whether the code is a soft (channel)
// or hard (connection) error, and whether a retry may cure it.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AmqpClosedConnection, ChannelClosed, FrameError, SynchronizationError, fromUrl } from '../../src/index.js';
import { AMQP_URL } from '../support/broker.js';

describe('error details', () => {
  it('a channel error names the refused method and says it is a soft error', async () => {
    const [, protocol] = await fromUrl(AMQP_URL);
    try {
      const channel = await protocol.channel();
      const missing = `amqp091-test.missing.${randomBytes(6).toString('hex')}`;
      const err = await channel.queueDeclare(missing, { passive: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelClosed);
      const closed = err as ChannelClosed;
      expect(closed.code).toBe(404);
      expect(closed.classId).toBe(50);
      expect(closed.methodId).toBe(10);
      expect(closed.message).toMatch(/^channel closed: 404 NOT_FOUND .*\(in reply to queue\.declare; soft error\)$/);
      expect(closed.retriable).toBe(false);
    } finally {
      await protocol.close();
    }
  });

  it('a connection error caused by a channel call names the method and says it is a hard error', async () => {
    const errors: Error[] = [];
    const [, protocol] = await fromUrl(AMQP_URL, { onError: (e) => void errors.push(e) });
    const channel = await protocol.channel();
    // A non-zero prefetch size is not implemented by RabbitMQ: connection error 540.
    const err = await channel.basicQos({ prefetchSize: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    const closed = err as AmqpClosedConnection;
    expect(closed.code).toBe(540);
    expect(closed.message).toMatch(/^connection closed: 540 NOT_IMPLEMENTED.*\(in reply to basic\.qos; hard error\)$/);
    expect(closed.retriable).toBe(false);
    await protocol.waitClosed();
    expect(errors).toEqual([closed]);
  });

  it('basicPublish is the same function as publish', async () => {
    const [, protocol] = await fromUrl(AMQP_URL);
    try {
      const channel = await protocol.channel();
      expect(channel.basicPublish).toBe(channel.publish);
      await channel.confirmSelect();
      await expect(channel.basicPublish('x', '', 'amqp091-test.nowhere')).resolves.toBeUndefined();
    } finally {
      await protocol.close();
    }
  });

  it('retriable: lost links and forced closes yes; protocol violations and user closes no', () => {
    expect(new AmqpClosedConnection({ code: 0, replyText: 'the socket closed unexpectedly' }).retriable).toBe(true);
    expect(new AmqpClosedConnection({ code: 320, replyText: 'CONNECTION_FORCED' }).retriable).toBe(true);
    expect(new AmqpClosedConnection({ code: 200, replyText: 'closed by the client' }).retriable).toBe(false);
    expect(new FrameError('bad frame-end').retriable).toBe(false);
    expect(new FrameError('bad frame-end').code).toBe(501);
    expect(new SynchronizationError('desync').retriable).toBe(false);
    expect(new FrameError('unexpected frame', 505).message).toBe('protocol violation by the peer: 505 unexpected frame (hard error)');
  });
});
