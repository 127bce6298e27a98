import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmqpClosedConnection,
  AmqpProtocol,
  ChannelClosed,
  FrameError,
  NoChannelAvailable,
  TimeoutError,
  connect,
  fromUrl,
} from '../../src/index.js';
import { FakeBroker, wire } from '../../src/testing/index.js';
import { startProxy } from '../support/tcp-proxy.js';
import { AMQP_URL, BROKER_HOST, BROKER_PORT, openSession } from '../support/broker.js';
import { rejectionOf, sleep } from '../support/async.js';
import { liveHandles } from '../support/leaks.js';

const { connectionCloseOk } = wire;

const broker = { host: BROKER_HOST, port: BROKER_PORT };

describe('connect', () => {
  let fake: FakeBroker | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('opens with defaults, exposes server properties and negotiated tuning, and closes', async () => {
    const states: string[] = [];
    const [transport, protocol] = await connect({ ...broker });
    states.push(protocol.state);
    expect(protocol.serverProperties['product']).toBe('RabbitMQ');
    expect(protocol.serverChannelMax).toBe(2047);
    expect(protocol.serverFrameMax).toBe(131072);
    expect(protocol.serverHeartbeat).toBe(60);
    expect(protocol.blocked).toBeNull();
    const closing = protocol.close();
    states.push(protocol.state);
    await closing;
    states.push(protocol.state);
    expect(states).toEqual(['open', 'closing', 'closed']);
    await protocol.waitClosed(100);
    transport.close();
  });

  it('negotiates the lower non-zero channelMax, frameMax and heartbeat, and heartbeat 0 disables', async () => {
    const a = await openSession({ channelMax: 10, frameMax: 8192, heartbeat: 7 });
    expect([a.protocol.serverChannelMax, a.protocol.serverFrameMax, a.protocol.serverHeartbeat]).toEqual([10, 8192, 7]);
    await a.close();
    const b = await openSession({ channelMax: 5000, frameMax: 1_000_000, heartbeat: 0 });
    expect([b.protocol.serverChannelMax, b.protocol.serverFrameMax, b.protocol.serverHeartbeat]).toEqual([2047, 131072, 0]);
    await b.close();
  });

  it('logs in with AMQPLAIN', async () => {
    const s = await openSession({ loginMethod: 'AMQPLAIN' });
    expect(s.protocol.state).toBe('open');
    await s.close();
  });

  it('rejects a wrong password with AmqpClosedConnection 403, quickly', async () => {
    const t0 = Date.now();
    const err = await rejectionOf(connect({ ...broker, password: 'definitely-wrong' }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(403);
    expect((err as AmqpClosedConnection).replyText).toMatch(/ACCESS_REFUSED/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('rejects an unknown vhost with AmqpClosedConnection 530 and the broker text', async () => {
    const err = await rejectionOf(connect({ ...broker, virtualhost: 'no-such-vhost-amqp091' }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(530);
    expect((err as AmqpClosedConnection).replyText).toMatch(/no-such-vhost-amqp091/);
  });

  it('rejects a closed port with AmqpClosedConnection carrying the socket error', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const t0 = Date.now();
    const err = await rejectionOf(connect({ host: '127.0.0.1', port }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(0);
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('rejects EXTERNAL when the broker does not offer it, and an unknown loginMethod with TypeError', async () => {
    const err = await rejectionOf(connect({ ...broker, loginMethod: 'EXTERNAL' }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as Error).message).toMatch(/EXTERNAL/);
    const bad = await rejectionOf(connect({ ...broker, loginMethod: 'CRAM-MD5' as 'PLAIN' }));
    expect(bad).toBeInstanceOf(TypeError);
  });

  it('rejects a non-AMQP peer with FrameError', async () => {
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.send('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      },
    });
    const err = await rejectionOf(connect({ host: fake.host, port: fake.port }));
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe(501);
  });

  it('rejects a peer answering with another protocol header with FrameError', async () => {
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
      },
    });
    const err = await rejectionOf(connect({ host: fake.host, port: fake.port }));
    expect(err).toBeInstanceOf(FrameError);
    expect((err as Error).message).toMatch(/protocol header/);
  });

  it('gives up after connectTimeout with AmqpClosedConnection caused by TimeoutError, leaving no socket', async () => {
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.closed; // say nothing
      },
    });
    const before = liveHandles();
    const t0 = Date.now();
    const err = await rejectionOf(connect({ host: fake.host, port: fake.port, connectTimeout: 300 }));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as Error).cause).toBeInstanceOf(TimeoutError);
    await fake.close();
    fake = undefined;
    await sleep(20);
    expect(liveHandles().sockets).toBe(before.sockets);
  });

  it('instantiates protocolFactory', async () => {
    class MyProtocol extends AmqpProtocol {
      readonly mine = true;
    }
    const [t, p] = await connect({ ...broker, protocolFactory: MyProtocol });
    expect(p).toBeInstanceOf(MyProtocol);
    expect(p.mine).toBe(true);
    await p.close();
    t.close();
  });

  it('sends client properties with capabilities and connection_name', async () => {
    let props: Record<string, unknown> = {};
    fake = await FakeBroker.start({
      script: async (c) => {
        const hs = await c.handshake();
        props = hs.startOk.clientProperties;
        await c.expectMethod(10, 50);
        await c.send(connectionCloseOk());
      },
    });
    const [t, p] = await connect({ host: fake.host, port: fake.port, connectionName: 'my-app', clientProperties: { extra: 'x' } });
    await p.close();
    t.close();
    await fake.settled();
    expect(fake.connections).toHaveLength(1);
    expect(props['product']).toBe('amqp091');
    expect(props['connection_name']).toBe('my-app');
    expect(props['extra']).toBe('x');
    expect(props['capabilities']).toMatchObject({
      publisher_confirms: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
    });
  });

  it('hands out channel ids up to channelMax and then NoChannelAvailable; closed ids are reused', async () => {
    const s = await openSession({ channelMax: 3 });
    const c2 = await s.protocol.channel();
    const c3 = await s.protocol.channel();
    expect([s.channel.channelId, c2.channelId, c3.channelId]).toEqual([1, 2, 3]);
    await expect(s.protocol.channel()).rejects.toBeInstanceOf(NoChannelAvailable);
    await c2.close();
    const again = await s.protocol.channel();
    expect(again.channelId).toBe(2);
    await s.close();
  });

  it('opens and closes 200 channels', async () => {
    const s = await openSession();
    const channels = await Promise.all(Array.from({ length: 200 }, () => s.protocol.channel()));
    expect(new Set(channels.map((c) => c.channelId)).size).toBe(200);
    await Promise.all(channels.map((c) => c.close()));
    expect(channels.every((c) => !c.isOpen)).toBe(true);
    const more = await s.protocol.channel();
    await more.queueDeclare('', { exclusive: true });
    await s.close();
    expect(s.errors).toEqual([]);
  });

  it('close() closes every channel: their calls then reject AmqpClosedConnection; onError is not called', async () => {
    const s = await openSession();
    await s.close();
    expect(s.channel.isOpen).toBe(false);
    const err = await rejectionOf(s.channel.queueDeclare(''));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    await expect(s.protocol.channel()).rejects.toBeInstanceOf(AmqpClosedConnection);
    expect(() => s.channel.basicClientAck(1)).toThrow(AmqpClosedConnection);
    expect(s.errors).toEqual([]);
    // Again, after the end: a call on a closed connection, so it rejects with its close error (API.md).
    const again = await rejectionOf(s.protocol.close());
    expect(again).toBeInstanceOf(AmqpClosedConnection);
    expect((again as AmqpClosedConnection).code).toBe(200);
    expect(again).toBe(s.protocol.closeError);
  });

  it('transport.close() ends the connection without reaching onError', async () => {
    const s = await openSession();
    s.transport.close();
    await s.protocol.waitClosed(2000);
    expect(s.protocol.state).toBe('closed');
    expect(s.errors).toEqual([]);
    const err = await rejectionOf(s.channel.queueDeclare(''));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
  });

  it('heartbeats flow both ways with the real broker and keep an idle connection open past 2h', async () => {
    // (Detection of missed heartbeats is tested deterministically against the
    // scripted peer in protocol-errors.test.ts: with a real broker behind a
    // stalled link, the broker's own detection races ours.)
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    try {
      const errors: Error[] = [];
      const [t, p] = await connect({ host: proxy.host, port: proxy.port, heartbeat: 1, onError: (e) => void errors.push(e) });
      const link = proxy.connections[0]!;
      const up = link.bytesUp;
      const down = link.bytesDown;
      await sleep(3000); // three intervals of silence from the application
      expect(p.state).toBe('open');
      expect(errors).toEqual([]);
      // At least a few 8-byte heartbeat frames went each way.
      expect(link.bytesUp - up).toBeGreaterThanOrEqual(16);
      expect(link.bytesDown - down).toBeGreaterThanOrEqual(16);
      const ch = await p.channel();
      await ch.queueDeclare('', { exclusive: true });
      await p.close();
      t.close();
    } finally {
      await proxy.close();
    }
  });

  it('waitClosed(timeout) rejects TimeoutError while the connection stays open', async () => {
    const s = await openSession();
    await expect(s.protocol.waitClosed(50)).rejects.toBeInstanceOf(TimeoutError);
    await s.close();
  });

  it('leaves no socket or timer behind after close()', async () => {
    await sleep(10);
    const before = liveHandles();
    const s = await openSession({ heartbeat: 5 });
    await s.channel.queueDeclare('', { exclusive: true });
    await s.close();
    await sleep(10);
    const after = liveHandles();
    expect(after.sockets).toBe(before.sockets);
    expect(after.timers).toBeLessThanOrEqual(before.timers);
  });

  it('a channel closed by the broker rejects with ChannelClosed while the connection keeps working', async () => {
    const s = await openSession();
    const other = await s.protocol.channel();
    const err = await rejectionOf(s.channel.queueDeclare('amqp091-missing-queue-x', { passive: true }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect(other.isOpen).toBe(true);
    await other.queueDeclare('', { exclusive: true });
    expect(s.errors).toEqual([]);
    await s.close();
  });

  it('fromUrl connects with URL options and lets explicit options override them', async () => {
    const [t, p] = await fromUrl(`${AMQP_URL.replace(/\/$/, '')}/%2F?heartbeat=9&channel_max=17`, { channelMax: 12 });
    expect(p.serverHeartbeat).toBe(9);
    expect(p.serverChannelMax).toBe(12);
    await p.close();
    t.close();
  });
});
