import net from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sleep } from '../../support/async.js';
import { FakeBroker, wire, type HandshakeResult, type Script } from '../../../src/testing/index.js';
import { handleCounts, leakedSince } from '../../support/leaks.js';

const { FRAME_BODY, FRAME_METHOD, PROTOCOL_HEADER, Reader, connectionClose, frame, heartbeatFrame, longstr, methodFrame, parseClose, shortstr, table, u16, u32, u8 } =
  wire;

// A raw client: a net socket plus a byte buffer to read frames from.
class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Waits for at least n buffered bytes and takes them. */
  async take(n: number, timeout = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeout;
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`closed with ${this.buf.length}/${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout with ${this.buf.length}/${n} bytes`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async frame(): Promise<{ type: number; channel: number; payload: Buffer; end: number }> {
    const head = await this.take(7);
    const size = head.readUInt32BE(3);
    const rest = await this.take(size + 1);
    return { type: head.readUInt8(0), channel: head.readUInt16BE(1), payload: rest.subarray(0, size), end: rest[size] ?? -1 };
  }

  async method(): Promise<{ classId: number; methodId: number; args: wire.Reader }> {
    const f = await this.frame();
    expect(f.type).toBe(FRAME_METHOD);
    expect(f.end).toBe(0xce);
    return { classId: f.payload.readUInt16BE(0), methodId: f.payload.readUInt16BE(2), args: new Reader(f.payload.subarray(4)) };
  }

  write(b: Uint8Array | string): void {
    this.socket.write(b);
  }

  /** The client half of the handshake. */
  async handshake(): Promise<{ serverProperties: Record<string, unknown>; mechanisms: string; tune: number[] }> {
    this.write(PROTOCOL_HEADER);
    const start = await this.method();
    expect([start.classId, start.methodId]).toEqual([10, 10]);
    expect([start.args.u8(), start.args.u8()]).toEqual([0, 9]);
    const serverProperties = start.args.table();
    const mechanisms = start.args.longstr().toString();
    expect(start.args.longstr().toString()).toBe('en_US');
    this.write(
      methodFrame(
        0,
        10,
        11,
        Buffer.concat([table({ product: 'raw', connection_name: 'raw-test' }), shortstr('PLAIN'), longstr('\0guest\0guest'), shortstr('en_US')]),
      ),
    );
    const tune = await this.method();
    expect([tune.classId, tune.methodId]).toEqual([10, 30]);
    const tuneValues = [tune.args.u16(), tune.args.u32(), tune.args.u16()];
    this.write(methodFrame(0, 10, 31, Buffer.concat([u16(100), u32(4096), u16(5)])));
    this.write(methodFrame(0, 10, 40, Buffer.concat([shortstr('/vh'), shortstr(''), u8(0)])));
    const openOk = await this.method();
    expect([openOk.classId, openOk.methodId]).toEqual([10, 41]);
    expect(openOk.args.shortstr()).toBe('');
    return { serverProperties, mechanisms, tune: tuneValues };
  }

  destroy(): void {
    this.socket.destroy();
  }
}


// FakeBroker.start({ script }): the scripted mode the project's own fault tests use.
describe('FakeBroker scripted mode', () => {
  let baseline: Map<string, number>;
  const servers: FakeBroker[] = [];
  const clients: RawClient[] = [];

  async function serve(script: Script): Promise<FakeBroker> {
    const s = await FakeBroker.start({ script });
    servers.push(s);
    return s;
  }
  async function client(port: number): Promise<RawClient> {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  }

  beforeEach(() => {
    baseline = handleCounts();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await sleep(10); // the test's own client sockets
    for (const s of servers.splice(0)) await s.close();
    // close() resolved: the server must not hold a socket, server or timer any more.
    expect(leakedSince(baseline)).toEqual([]);
  });

  test('handshake brings a raw client to the open state, then sends anything', async () => {
    let seen: HandshakeResult | undefined;
    const server = await serve(async (conn) => {
      expect(conn.header.equals(PROTOCOL_HEADER)).toBe(true);
      seen = await conn.handshake({ channelMax: 10, frameMax: 8192, heartbeat: 7 });
      await conn.send(frame(FRAME_BODY, 1, Buffer.from('garbage'), 0x00)); // wrong frame-end on purpose
      await conn.send(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
      const close = parseClose(await conn.expectMethod(10, 50));
      expect(close).toEqual({ replyCode: 501, replyText: 'FRAME_ERROR', classId: 0, methodId: 0 });
      await conn.sendMethod(0, 10, 51);
      await conn.closed;
    });
    const c = await client(server.port);
    const hs = await c.handshake();
    expect(hs.mechanisms).toBe('PLAIN AMQPLAIN');
    expect(hs.tune).toEqual([10, 8192, 7]);
    expect(hs.serverProperties).toMatchObject({ product: 'amqp091 FakeBroker', capabilities: { 'basic.nack': true } });

    const bad = await c.frame();
    expect(bad).toMatchObject({ type: FRAME_BODY, channel: 1, end: 0 });
    expect(bad.payload.toString()).toBe('garbage');
    expect((await c.take(28)).toString()).toBe('HTTP/1.1 400 Bad Request\r\n\r\n');

    c.write(heartbeatFrame()); // skipped by expectMethod
    c.write(connectionClose(501, 'FRAME_ERROR'));
    const closeOk = await c.method();
    expect([closeOk.classId, closeOk.methodId]).toEqual([10, 51]);
    c.destroy();
    await server.settled();

    expect(seen?.startOk).toMatchObject({ mechanism: 'PLAIN', locale: 'en_US', clientProperties: { connection_name: 'raw-test' } });
    expect(seen?.startOk.response.toString()).toBe('\0guest\0guest');
    expect(seen?.tuneOk).toEqual({ channelMax: 100, frameMax: 4096, heartbeat: 5 });
    expect(seen?.open).toEqual({ virtualhost: '/vh', insist: false });
    expect(server.connections).toHaveLength(1);
  });

  test('the script sees whatever 8 bytes came first (e.g. not AMQP at all)', async () => {
    const server = await serve(async (conn) => {
      expect(conn.header.toString()).toBe('GET / HT');
      await conn.send('HTTP/1.1 200 OK\r\n\r\n');
      conn.end();
      expect(await conn.closed).toEqual({ reset: false });
    });
    const c = await client(server.port);
    c.write('GET / HTTP/1.1\r\n\r\n');
    expect((await c.take(19)).toString()).toBe('HTTP/1.1 200 OK\r\n\r\n');
    await server.settled();
  });

  test('nextFrame returns heartbeats unless told to skip them, and parses method ids', async () => {
    const frames: wire.Frame[] = [];
    const server = await serve(async (conn) => {
      frames.push(await conn.nextFrame());
      frames.push(await conn.nextFrame({ skipHeartbeats: true }));
    });
    const c = await client(server.port);
    // Header and frames in one write, split oddly: the reader must reassemble.
    const bytes = Buffer.concat([PROTOCOL_HEADER, heartbeatFrame(), heartbeatFrame(), methodFrame(3, 60, 40, Buffer.from([1, 2]))]);
    c.write(bytes.subarray(0, 5));
    await sleep(20);
    c.write(bytes.subarray(5, 17));
    await sleep(20);
    c.write(bytes.subarray(17));
    await server.settled();
    expect(frames[0]).toMatchObject({ type: 8, channel: 0, classId: -1, methodId: -1 });
    expect(frames[1]).toMatchObject({ type: 1, channel: 3, classId: 60, methodId: 40 });
    expect(frames[1]?.args).toEqual(Buffer.from([1, 2]));
  });

  test('a failing script is collected, its socket destroyed, and settled() rethrows (no unhandled rejection)', async () => {
    const server = await serve(async (conn) => {
      await conn.expectMethod(10, 11, { timeout: 2000 });
    });
    const c = await client(server.port);
    c.write(PROTOCOL_HEADER);
    c.write(methodFrame(0, 20, 10, shortstr(''))); // channel.open instead of start-ok
    await expect(server.settled()).rejects.toThrow(/expected method 10\/11, got frame type 1 channel 0 method 20\/10/);
    expect(server.errors).toHaveLength(1);
    await sleep(20);
    expect(c.closed).toBe(true);
  });

  test('nextFrame rejects on a malformed client frame, on timeout, and when the client goes away', async () => {
    const outcomes: string[] = [];
    const server = await serve(async (conn) => {
      const first = await conn.nextFrame({ timeout: 100 }).catch((e: Error) => e.message);
      outcomes.push(String(first));
      const second = await conn.nextFrame().catch((e: Error) => e.message);
      outcomes.push(String(second));
    });
    const c = await client(server.port);
    c.write(PROTOCOL_HEADER);
    await sleep(200);
    c.write(frame(1, 0, Buffer.from([0, 10, 0, 11]), 0xab));
    await server.settled();
    expect(outcomes[0]).toMatch(/timeout waiting for a frame/);
    expect(outcomes[1]).toMatch(/frame-end 0xab/);

    const server2 = await serve(async (conn) => {
      await expect(conn.nextFrame()).rejects.toThrow(/socket closed/);
      expect(await conn.closed).toMatchObject({ reset: expect.any(Boolean) as unknown });
    });
    const c2 = await client(server2.port);
    c2.write(PROTOCOL_HEADER);
    await sleep(20);
    c2.socket.end();
    await server2.settled();
  });

  test('a client that never completes the header does not run the script', async () => {
    let ran = false;
    const server = await serve(() => {
      ran = true;
    });
    const c = await client(server.port);
    c.write('AMQ');
    c.socket.end();
    await sleep(50);
    await server.settled();
    expect(ran).toBe(false);
    expect(server.connections).toHaveLength(0);
  });

  test('close() with a script still waiting and a client still connected leaves no handles', async () => {
    const server = await serve(async (conn) => {
      await conn.nextFrame({ timeout: 60_000 });
    });
    const c = await client(server.port);
    c.write(PROTOCOL_HEADER);
    await sleep(20);
    await server.close();
    await sleep(20);
    expect(c.closed).toBe(true);
    await server.close(); // idempotent
  });

  test('tables encode and decode every supported type', () => {
    const t = table({ s: 'str', i: -5, big: 2 ** 40, f: 1.5, yes: true, no: false, nil: null, bin: Buffer.from([1, 2]), arr: [1, 'a'], nested: { k: 'v' } });
    const r = new Reader(t);
    expect(r.table()).toEqual({
      s: 'str',
      i: -5,
      big: 2 ** 40,
      f: 1.5,
      yes: true,
      no: false,
      nil: null,
      bin: Buffer.from([1, 2]),
      arr: [1, 'a'],
      nested: { k: 'v' },
    });
    expect(r.offset).toBe(t.length);
    expect(() => new Reader(Buffer.from([0, 0, 0, 9, 1])).table()).toThrow(RangeError);
  });
});
