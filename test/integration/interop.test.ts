// Interoperability with amqplib, both directions: body, properties and headers survive.
import amqplib from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { Decimal } from '../../src/index.js';
import { AMQP_URL, openSession, type Session } from '../support/broker.js';
import { waitFor } from '../support/async.js';

describe('interoperability with amqplib', () => {
  let s: Session;
  let other: amqplib.ChannelModel | undefined;
  afterEach(async () => {
    await s?.close();
    await other?.close();
    other = undefined;
  });

  it('a message published by us is read by amqplib with equal body, properties and headers', async () => {
    s = await openSession();
    other = await amqplib.connect(AMQP_URL);
    const theirs = await other.createChannel();
    const { queue } = await theirs.assertQueue('', { exclusive: true });
    const body = Buffer.from('from amqp091 ✓');
    await s.channel.confirmSelect();
    await s.channel.publish(body, '', queue, {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: { str: 'v', num: 42, neg: -7, big: 2 ** 40, flag: true, nested: { a: 'b' }, list: [1, 'x'], dbl: 1.25 },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'c-1',
      replyTo: 'r-q',
      expiration: '100000',
      messageId: 'm-1',
      timestamp: new Date(1_650_000_000_000),
      messageType: 'greeting',
      userId: 'guest',
      appId: 'amqp091',
    });
    const msg = await theirs.get(queue, { noAck: true });
    expect(msg).not.toBe(false);
    if (msg === false) return;
    expect(msg.content.equals(body)).toBe(true);
    const p = msg.properties;
    expect(p.contentType).toBe('text/plain');
    expect(p.contentEncoding).toBe('utf-8');
    expect(p.deliveryMode).toBe(2);
    expect(p.priority).toBe(3);
    expect(p.correlationId).toBe('c-1');
    expect(p.replyTo).toBe('r-q');
    expect(p.expiration).toBe('100000');
    expect(p.messageId).toBe('m-1');
    expect(p.timestamp).toBe(1_650_000_000);
    expect(p.type).toBe('greeting');
    expect(p.userId).toBe('guest');
    expect(p.appId).toBe('amqp091');
    expect(p.headers).toEqual({ str: 'v', num: 42, neg: -7, big: 2 ** 40, flag: true, nested: { a: 'b' }, list: [1, 'x'], dbl: 1.25 });
  });

  it('a message published by amqplib is read by us with equal body, properties and headers', async () => {
    s = await openSession();
    other = await amqplib.connect(AMQP_URL);
    const theirs = await other.createConfirmChannel();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    const got: { body: Buffer; props: import('../../src/index.js').Properties }[] = [];
    await s.channel.basicConsume((_c, body, _e, props) => void got.push({ body, props }), { queueName: queue, noAck: true });
    const body = Buffer.alloc(300_000, 7);
    await new Promise<void>((resolve, reject) =>
      theirs.publish(
        '',
        queue,
        body,
        {
          contentType: 'application/octet-stream',
          contentEncoding: 'identity',
          headers: { str: 'v', num: 42, big: 2 ** 40, flag: false, nested: { a: 'b' }, list: [1, 'x'], dec: { '!': 'decimal', value: { places: 2, digits: 314 } } },
          deliveryMode: 1,
          priority: 9,
          correlationId: 'c-2',
          replyTo: 'r-2',
          expiration: '5000',
          messageId: 'm-2',
          timestamp: 1_650_000_001,
          type: 'blob',
          userId: 'guest',
          appId: 'amqplib',
        },
        (err: unknown) => (err ? reject(err as Error) : resolve()),
      ),
    );
    await waitFor(() => got.length === 1);
    const { body: b, props } = got[0]!;
    expect(b.equals(body)).toBe(true);
    expect(props).toMatchObject({
      contentType: 'application/octet-stream',
      contentEncoding: 'identity',
      deliveryMode: 1,
      priority: 9,
      correlationId: 'c-2',
      replyTo: 'r-2',
      expiration: '5000',
      messageId: 'm-2',
      timestamp: new Date(1_650_000_001_000),
      messageType: 'blob',
      userId: 'guest',
      appId: 'amqplib',
    });
    expect(props.headers).toEqual({ str: 'v', num: 42, big: 2 ** 40, flag: false, nested: { a: 'b' }, list: [1, 'x'], dec: new Decimal(2, 314) });
  });
});
