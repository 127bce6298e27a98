// Compile-time checks of the public API (checked by `npm run typecheck`),
// plus the runtime shape of the package root.
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as root from '../../src/index.js';
import type {
  AmqpProtocol,
  Channel,
  ConnectOptions,
  Envelope,
  GetResult,
  Properties,
  ReturnEnvelope,
  Transport,
} from '../../src/index.js';

describe('public API', () => {
  it('exports everything API.md lists from the package root', () => {
    for (const name of [
      'connect',
      'fromUrl',
      'AmqpProtocol',
      'Channel',
      'Envelope',
      'ReturnEnvelope',
      'Properties',
      'Decimal',
      'TypedValue',
      'typed',
      'AmqpError',
      'AmqpClosedConnection',
      'FrameError',
      'SynchronizationError',
      'ChannelClosed',
      'EmptyQueue',
      'NoChannelAvailable',
      'DuplicateConsumerTag',
      'ConsumerCancelled',
      'PublishFailed',
      'MessageReturned',
      'TimeoutError',
    ]) {
      expect(root, name).toHaveProperty(name);
    }
    expect(new root.FrameError('x')).toBeInstanceOf(root.AmqpClosedConnection);
    expect(new root.SynchronizationError('x')).toBeInstanceOf(root.AmqpClosedConnection);
    for (const E of [root.ChannelClosed, root.EmptyQueue, root.NoChannelAvailable, root.TimeoutError]) {
      expect(new E()).toBeInstanceOf(root.AmqpError);
    }
  });

  it('has precise types (no any)', () => {
    expectTypeOf(root.connect).returns.resolves.toEqualTypeOf<[Transport, AmqpProtocol]>();
    expectTypeOf<AmqpProtocol['state']>().toEqualTypeOf<'connecting' | 'open' | 'recovering' | 'closing' | 'closed'>();
    expectTypeOf<AmqpProtocol['blocked']>().toEqualTypeOf<string | null>();
    expectTypeOf<Channel['basicGet']>().returns.resolves.toEqualTypeOf<GetResult>();
    expectTypeOf<Channel['basicClientAck']>().returns.toEqualTypeOf<void>();
    expectTypeOf<Channel['queueDeclare']>().returns.resolves.toEqualTypeOf<{ queue: string; messageCount: number; consumerCount: number }>();
    expectTypeOf<Envelope['deliveryTag']>().toEqualTypeOf<number>();
    expectTypeOf<ReturnEnvelope['replyCode']>().toEqualTypeOf<number>();
    expectTypeOf<Properties['timestamp']>().toEqualTypeOf<Date | undefined>();
    expectTypeOf<Parameters<Channel['basicConsume']>[0]>().parameters.toEqualTypeOf<[Channel, Buffer, Envelope, Properties]>();
    expectTypeOf<ConnectOptions['onError']>().toEqualTypeOf<((err: Error) => void | Promise<void>) | undefined>();

    const check = (ch: Channel, o: ConnectOptions): void => {
      // @ts-expect-error loginMethod is a closed set
      o.loginMethod = 'CRAM-MD5';
      // @ts-expect-error payload must be a string or bytes
      void ch.publish(42, '', 'q');
      // @ts-expect-error options are typed
      void ch.queueDeclare('q', { durible: true });
      // @ts-expect-error ack returns void, not a promise
      void ch.basicClientAck(1).then;
    };
    expect(typeof check).toBe('function');
  });
});
