// FakeBroker (the `amqp091/testing` entry point) driven by the real client:
// handshake, declares, recorded publishes, scripted deliveries, and each
// fault with the exact error the client reports. No broker needed.

import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AmqpClosedConnection,
  ChannelClosed,
  FrameError,
  TimeoutError,
  fromUrl,
  type AmqpProtocol,
  type Channel,
  type ConnectOptions,
  type Envelope,
  type Properties,
  type Transport,
} from '../../../src/index.js';
import { FakeBroker } from '../../../src/testing/index.js';

interface Client {
  transport: Transport;
  protocol: AmqpProtocol;
  channel: Channel;
  errors: Error[];
}

let broker: FakeBroker;
const clients: Client[] = [];

async function client(options: ConnectOptions = {}, url = broker.url): Promise<Client> {
  const errors: Error[] = [];
  const [transport, protocol] = await fromUrl(url, { onError: (e) => void errors.push(e), ...options });
  const channel = await protocol.channel();
  const c = { transport, protocol, channel, errors };
  clients.push(c);
  return c;
}

interface Received {
  body: string;
  envelope: Envelope;
  properties: Properties;
}

/** Start a consumer that records what it gets. */
async function consume(ch: Channel, queueName: string): Promise<{ consumerTag: string; got: Received[] }> {
  const got: Received[] = [];
  const { consumerTag } = await ch.basicConsume(
    (_c, body, envelope, properties) => void got.push({ body: body.toString(), envelope, properties }),
    { queueName, noAck: true },
  );
  return { consumerTag, got };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function handles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout');
}
let before: string[] = [];

beforeEach(async () => {
  before = handles();
  broker = await FakeBroker.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) {
    // Many tests end the connection themselves; a second close() would reject (API.md).
    if (c.protocol.state !== 'closed') await c.protocol.close({ timeout: 200 });
    c.transport.close();
  }
  await broker.close();
  // Nothing left behind: no socket, no server, no timer of ours or the client's.
  // (Vitest may hold a timer of its own, counted in `before`.)
  const timers = (l: string[]): number => l.filter((h) => h === 'Timeout').length;
  await until(() => handles().every((h) => h === 'Timeout') && timers(handles()) <= timers(before), 'handles to be released');
});

describe('FakeBroker: handshake and topology', () => {
  it('listens on 127.0.0.1 and its url carries guest credentials', () => {
    expect(broker.url).toBe(`amqp://guest:guest@127.0.0.1:${broker.port}/`);
    expect(broker.port).toBeGreaterThan(0);
  });

  it('accepts any credentials and vhost, with PLAIN and AMQPLAIN', async () => {
    const a = await client({}, `amqp://alice:secret@127.0.0.1:${broker.port}/some-vhost`);
    const b = await client({ loginMethod: 'AMQPLAIN' }, `amqp://bob:pw@127.0.0.1:${broker.port}/%2F`);
    expect(a.protocol.state).toBe('open');
    expect(b.protocol.state).toBe('open');
    expect(a.protocol.serverHeartbeat).toBe(0);
    expect(a.protocol.serverProperties['product']).toBe('amqp091 FakeBroker');
  });

  it('answers declares, binds, purge, delete, qos and flow; names a queue declared with ""', async () => {
    const { channel: ch } = await client();
    await ch.exchangeDeclare('logs', 'topic', { durable: true });
    await ch.exchangeDeclare('more', 'fanout');
    await ch.exchangeBind('more', 'logs', '#');
    await ch.exchangeUnbind('more', 'logs', '#');
    const named = await ch.queueDeclare('');
    expect(named.queue).toMatch(/^amq\.gen-[\w-]{22}$/);
    await expect(ch.queueDeclare('jobs', { durable: true })).resolves.toMatchObject({ queue: 'jobs', messageCount: 0, consumerCount: 0 });
    await ch.queueBind('jobs', 'logs', 'app.*');
    await ch.queueUnbind('jobs', 'logs', 'app.*');
    await expect(ch.queuePurge('jobs')).resolves.toEqual({ messageCount: 0 });
    await ch.basicQos({ prefetchCount: 10 });
    await ch.queueDelete('jobs');
    await ch.exchangeDelete('more');
    expect(ch.isOpen).toBe(true);
  });

  it('reports the consumer count in queue.declare-ok', async () => {
    const { channel: ch } = await client();
    await consume(ch, 'counted');
    await expect(ch.queueDeclare('counted')).resolves.toMatchObject({ consumerCount: 1 });
  });
});

describe('FakeBroker: publishes', () => {
  it('records a publish and acks it in confirm mode', async () => {
    const { channel: ch } = await client();
    await ch.confirmSelect();
    await ch.publish('hello', 'logs', 'app.start', { contentType: 'text/plain', headers: { k: 'v' } }, { mandatory: true });
    expect(broker.published).toHaveLength(1);
    const [m] = broker.published;
    expect(m).toMatchObject({ channel: ch.channelId, exchange: 'logs', routingKey: 'app.start', mandatory: true });
    expect(Buffer.isBuffer(m!.body)).toBe(true);
    expect(m!.body.toString()).toBe('hello');
    expect(m!.properties.contentType).toBe('text/plain');
    // A mandatory publish on a confirm channel carries its delivery tag (API.md "Publish outcome").
    expect(m!.properties.headers).toEqual({ k: 'v', 'x-amqp091-seq': 1 });
  });

  it('acks each of many confirmed publishes and records them in order, empty and multi-frame bodies included', async () => {
    const { channel: ch } = await client();
    await ch.confirmSelect();
    const big = Buffer.alloc(300_000, 7); // three body frames at frame-max 128 KiB
    const all = [ch.publish('', '', 'q'), ch.publish(big, '', 'q'), ...Array.from({ length: 50 }, (_, i) => ch.publish(`m${i}`, '', 'q'))];
    await Promise.all(all);
    expect(broker.published).toHaveLength(52);
    expect(broker.published[0]!.body.length).toBe(0);
    expect(broker.published[1]!.body.equals(big)).toBe(true);
    expect(broker.published.slice(2).map((m) => m.body.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(broker.published.every((m) => m.mandatory === false)).toBe(true);
  });

  it('records publishes without confirm mode too', async () => {
    const { channel: ch } = await client();
    await ch.publish('fire and forget', 'ex', 'rk');
    await until(() => broker.published.length === 1, 'the publish');
    expect(broker.published[0]!.body.toString()).toBe('fire and forget');
  });
});

describe('FakeBroker: deliveries', () => {
  it('delivers to a consumer tag, with properties, routing key and rising delivery tags', async () => {
    const { channel: ch } = await client();
    const { queue } = await ch.queueDeclare('');
    const c = await consume(ch, queue);
    await broker.deliver(c.consumerTag, 'one', { contentType: 'text/plain', correlationId: 'c1' });
    await broker.deliver(c.consumerTag, Buffer.from('two'));
    await until(() => c.got.length === 2, 'two deliveries');
    expect(c.got.map((g) => g.body)).toEqual(['one', 'two']);
    expect(c.got[0]!.properties).toMatchObject({ contentType: 'text/plain', correlationId: 'c1' });
    expect(c.got[0]!.envelope).toMatchObject({ consumerTag: c.consumerTag, deliveryTag: 1, routingKey: queue, exchangeName: '' });
    expect(c.got[1]!.envelope.deliveryTag).toBe(2);
  });

  it('delivers a body larger than a frame', async () => {
    const { channel: ch } = await client();
    const c = await consume(ch, 'big');
    const body = 'x'.repeat(400_000);
    await broker.deliver('big', body);
    await until(() => c.got.length === 1, 'the delivery');
    expect(c.got[0]!.body).toBe(body);
  });

  it('delivers by queue name round-robin over its consumers, across connections', async () => {
    const a = await client();
    const b = await client();
    const ca = await consume(a.channel, 'work');
    const cb = await consume(b.channel, 'work');
    const other = await consume(a.channel, 'elsewhere');
    for (let i = 0; i < 6; i++) await broker.deliver('work', `job ${i}`);
    await until(() => ca.got.length + cb.got.length === 6, 'six deliveries');
    expect(ca.got.map((g) => g.body)).toEqual(['job 0', 'job 2', 'job 4']);
    expect(cb.got.map((g) => g.body)).toEqual(['job 1', 'job 3', 'job 5']);
    expect(other.got).toEqual([]);
  });

  it('rejects a delivery to a queue with no consumer, and to a cancelled consumer', async () => {
    const { channel: ch } = await client();
    await ch.queueDeclare('idle');
    await expect(broker.deliver('idle', 'x')).rejects.toThrow(/no consumer/);
    await expect(broker.deliver('nowhere', 'x')).rejects.toThrow(/no consumer/);
    const c = await consume(ch, 'idle');
    await ch.basicCancel(c.consumerTag);
    await expect(broker.deliver(c.consumerTag, 'x')).rejects.toThrow(/no consumer/);
    await expect(broker.deliver('idle', 'x')).rejects.toThrow(/no consumer/);
  });

  it('forgets the consumers of a closed channel and of a closed connection', async () => {
    const a = await client();
    await consume(a.channel, 'gone');
    await a.channel.close();
    await expect(broker.deliver('gone', 'x')).rejects.toThrow(/no consumer/);
    const b = await client();
    await consume(b.channel, 'gone');
    await b.protocol.close();
    await expect(broker.deliver('gone', 'x')).rejects.toThrow(/no consumer/);
  });
});

describe('FakeBroker: heartbeats and its own protocol checks', () => {
  it('sends heartbeats when the client asks for them, and stall() stops them (the client sees missed heartbeats)', async () => {
    const c = await client({ heartbeat: 1 });
    expect(c.protocol.serverHeartbeat).toBe(1);
    await new Promise((r) => setTimeout(r, 2500)); // past 2 heartbeat intervals of silence, were there no heartbeats
    expect(c.protocol.state).toBe('open');
    await broker.stall();
    await c.protocol.waitClosed(4000);
    expect(c.protocol.closeError).toBeInstanceOf(AmqpClosedConnection);
    expect(c.protocol.closeError).toMatchObject({ code: 0, replyText: expect.stringMatching(/missed heartbeats/) });
  }, 10_000);

  it('queue.delete cancels the consumers of that queue (the client hears basic.cancel)', async () => {
    const { channel: ch } = await client();
    const cancelled: string[] = [];
    ch.addCancellationCallback((_c, tag) => void cancelled.push(tag));
    const c = await consume(ch, 'doomed');
    await ch.queueDelete('doomed');
    await until(() => cancelled.length === 1, 'the cancel');
    expect(cancelled).toEqual([c.consumerTag]);
    await expect(broker.deliver('doomed', 'x')).rejects.toThrow(/no consumer/);
  });

  it('answers a wrong protocol header with its own and hangs up', async () => {
    const got = await rawExchange(Buffer.from('AMQP\x00\x00\x08\x00', 'latin1'));
    expect(got).toEqual(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
  });

  it('closes the connection with 501 when a client sends bytes that are not frames', async () => {
    const got = await rawExchange(Buffer.concat([Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]), Buffer.from('garbage!')]));
    // connection.start, then connection.close (10/50) with reply code 501
    const close = got.indexOf(Buffer.from([0, 10, 0, 50]));
    expect(close).toBeGreaterThan(0);
    expect(got.readUInt16BE(close + 4)).toBe(501);
  });
});

/** Connect a raw socket, send `bytes`, and collect what comes back until the broker hangs up. */
function rawExchange(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(broker.port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('end', () => s.end());
  });
}

describe('FakeBroker: faults', () => {
  it('closeConnection: the client sees AmqpClosedConnection with that code and text', async () => {
    const c = await client();
    await broker.closeConnection(320, 'CONNECTION_FORCED - test');
    await c.protocol.waitClosed();
    const err = c.protocol.closeError;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err).not.toBeInstanceOf(FrameError);
    expect(err).toMatchObject({ code: 320, replyText: 'CONNECTION_FORCED - test', classId: 0, methodId: 0 });
    const call = await c.channel.queueDeclare('q').catch((e: unknown) => e);
    expect(call).toBeInstanceOf(AmqpClosedConnection);
    expect(call).toMatchObject({ code: 320 });
    // The broker still listens: a new client connects.
    const again = await client();
    expect(again.protocol.state).toBe('open');
  });

  it('closeChannel: calls on that channel reject ChannelClosed with the code, class and method id 0', async () => {
    const c = await client();
    const other = await c.protocol.channel();
    await broker.closeChannel(c.channel.channelId, 406, 'PRECONDITION_FAILED - test');
    expect(c.channel.isOpen).toBe(false);
    const err = await c.channel.queueDeclare('q').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelClosed);
    expect(err).toMatchObject({ code: 406, replyText: 'PRECONDITION_FAILED - test', classId: 0, methodId: 0 });
    // Other channels and the connection carry on.
    expect(other.isOpen).toBe(true);
    await expect(other.queueDeclare('still-fine')).resolves.toMatchObject({ queue: 'still-fine' });
    expect(c.protocol.state).toBe('open');
  });

  it('closeChannel: a call waiting on the channel rejects with the code', async () => {
    const c = await client();
    await broker.stall();
    const pending = c.channel.queueDeclare('q').catch((e: unknown) => e);
    // A stalled broker still sends its own channel.close (and does not wait for the close-ok it would not read).
    await broker.closeChannel(c.channel.channelId, 404, 'NOT_FOUND - test');
    const err = await pending;
    expect(err).toBeInstanceOf(ChannelClosed);
    expect(err).toMatchObject({ code: 404, classId: 0, methodId: 0 });
  });

  it('dropSocket: the client sees a lost link (AmqpClosedConnection, code 0, retriable)', async () => {
    const c = await client();
    await broker.dropSocket();
    await c.protocol.waitClosed();
    const err = c.protocol.closeError;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err).toMatchObject({ code: 0, retriable: true });
    await expect(c.channel.queueDeclare('q')).rejects.toBeInstanceOf(AmqpClosedConnection);
  });

  it('stall: a call with a timeout rejects TimeoutError, and the connection stays up', async () => {
    const c = await client();
    await broker.stall();
    const err = await c.channel.queueDeclare('q', { timeout: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(c.protocol.state).toBe('open');
    await expect(c.protocol.channel({ timeout: 150 })).rejects.toBeInstanceOf(TimeoutError);
    // A new client is served as before.
    const fresh = await client();
    await expect(fresh.channel.queueDeclare('q')).resolves.toMatchObject({ queue: 'q' });
  });

  it('sendRaw: garbage ends the connection with a FrameError (501)', async () => {
    const c = await client();
    await broker.sendRaw(Buffer.from('garbage!'));
    await c.protocol.waitClosed();
    const err = c.protocol.closeError;
    expect(err).toBeInstanceOf(FrameError);
    expect(err).toMatchObject({ code: 501 });
    expect(c.errors.some((e) => e instanceof FrameError)).toBe(true);
  });

  it('sendRaw: a well-formed frame is passed through as it is (a heartbeat changes nothing)', async () => {
    const c = await client();
    await broker.sendRaw(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
    await expect(c.channel.queueDeclare('q')).resolves.toMatchObject({ queue: 'q' });
  });

  it('faults act on every connected client', async () => {
    const a = await client();
    const b = await client();
    await broker.closeConnection(541, 'INTERNAL_ERROR - test');
    await Promise.all([a.protocol.waitClosed(), b.protocol.waitClosed()]);
    expect(a.protocol.closeError).toMatchObject({ code: 541 });
    expect(b.protocol.closeError).toMatchObject({ code: 541 });
  });

  it('close(): ends connected clients with 320 and stops listening', async () => {
    const c = await client();
    await broker.close();
    await c.protocol.waitClosed();
    expect(c.protocol.closeError).toBeInstanceOf(AmqpClosedConnection);
    expect(c.protocol.closeError).toMatchObject({ code: 320 });
    await expect(fromUrl(broker.url)).rejects.toBeInstanceOf(AmqpClosedConnection);
    await broker.close(); // idempotent
  });
});
