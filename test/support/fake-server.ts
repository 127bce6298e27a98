// A fake AMQP 0-9-1 server for feeding the client bytes a real broker never
// sends. Self-contained on purpose: it builds and parses frames from raw
// Buffers and does not import the library under test.
//
//   const server = await startFakeServer(async (conn) => {
//     await conn.handshake();                      // start / tune / open-ok
//     conn.send(frame(1, 0, Buffer.from('junk'))); // then anything at all
//     const close = parseConnectionClose(await conn.expectMethod(10, 50));
//     expect(close.replyCode).toBe(501);
//     conn.sendMethod(0, 10, 51);                  // close-ok
//   });
//   await connect({ host: '127.0.0.1', port: server.port, ... });
//   ...
//   await server.settled();  // rethrows the first script failure
//   await server.close();    // no handle left
import net from 'node:net';

// ---------------------------------------------------------------------------
// Wire constants
// ---------------------------------------------------------------------------

export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0 0 9 1
export const FRAME_END = 0xce;
export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

export function u8(n: number): Buffer {
  const b = Buffer.alloc(1);
  b.writeUInt8(n);
  return b;
}
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
/** Short string: length octet + bytes. Not checked, so over-long input can be sent on purpose (the length wraps). */
export function shortstr(s: string | Uint8Array): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return Buffer.concat([u8(bytes.length & 0xff), bytes]);
}
/** Long string: u32 length + bytes. */
export function longstr(s: string | Uint8Array): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return Buffer.concat([u32(bytes.length), bytes]);
}

export type FieldValue = string | number | boolean | null | Buffer | FieldTable | FieldValue[];
export interface FieldTable {
  [key: string]: FieldValue;
}

function fieldValue(v: FieldValue): Buffer {
  if (v === null) return Buffer.from('V');
  if (typeof v === 'string') return Buffer.concat([Buffer.from('S'), longstr(v)]);
  if (typeof v === 'boolean') return Buffer.from([0x74 /* t */, v ? 1 : 0]);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
      const b = Buffer.alloc(5);
      b.write('I');
      b.writeInt32BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b.write('d');
    b.writeDoubleBE(v, 1);
    return b;
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from('x'), longstr(v)]);
  if (Array.isArray(v)) {
    const items = Buffer.concat(v.map(fieldValue));
    return Buffer.concat([Buffer.from('A'), u32(items.length), items]);
  }
  return Buffer.concat([Buffer.from('F'), table(v)]);
}

/** Field table (RabbitMQ type codes): string→S, int32→I, other number→d, boolean→t, null→V, Buffer→x, array→A, object→F. */
export function table(t: FieldTable): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(t)) parts.push(shortstr(k), fieldValue(v));
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}

/** A whole frame: type, channel, size, payload, frame-end (or a wrong `end` on purpose). */
export function frame(type: number, channel: number, payload: Uint8Array, end: number = FRAME_END): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, u8(end)]);
}

export function methodFrame(channel: number, classId: number, methodId: number, args: Uint8Array = Buffer.alloc(0)): Buffer {
  return frame(FRAME_METHOD, channel, Buffer.concat([u16(classId), u16(methodId), args]));
}

/** Content header frame: class-id, weight 0, body size, property flags (default none) and raw property bytes. */
export function contentHeaderFrame(
  channel: number,
  classId: number,
  bodySize: number | bigint,
  flags = 0,
  properties: Uint8Array = Buffer.alloc(0),
): Buffer {
  return frame(FRAME_HEADER, channel, Buffer.concat([u16(classId), u16(0), u64(bodySize), u16(flags), properties]));
}

export function bodyFrame(channel: number, body: Uint8Array | string): Buffer {
  return frame(FRAME_BODY, channel, typeof body === 'string' ? Buffer.from(body) : body);
}

export function heartbeatFrame(): Buffer {
  return frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
}

export const DEFAULT_SERVER_PROPERTIES: FieldTable = {
  product: 'fake-amqp',
  version: '0.0.0',
  platform: 'node',
  capabilities: {
    publisher_confirms: true,
    exchange_exchange_bindings: true,
    'basic.nack': true,
    consumer_cancel_notify: true,
    'connection.blocked': true,
    authentication_failure_close: true,
    per_consumer_qos: true,
  },
};

export interface StartOptions {
  readonly versionMajor?: number;
  readonly versionMinor?: number;
  readonly serverProperties?: FieldTable;
  readonly mechanisms?: string;
  readonly locales?: string;
}

/** connection.start (10/10). */
export function connectionStart(o: StartOptions = {}): Buffer {
  return methodFrame(
    0,
    10,
    10,
    Buffer.concat([
      u8(o.versionMajor ?? 0),
      u8(o.versionMinor ?? 9),
      table(o.serverProperties ?? DEFAULT_SERVER_PROPERTIES),
      longstr(o.mechanisms ?? 'PLAIN AMQPLAIN'),
      longstr(o.locales ?? 'en_US'),
    ]),
  );
}

export interface TuneOptions {
  readonly channelMax?: number;
  readonly frameMax?: number;
  readonly heartbeat?: number;
}

/** connection.tune (10/30). Defaults: channel-max 2047, frame-max 131072, heartbeat 0. */
export function connectionTune(o: TuneOptions = {}): Buffer {
  return methodFrame(0, 10, 30, Buffer.concat([u16(o.channelMax ?? 2047), u32(o.frameMax ?? 131072), u16(o.heartbeat ?? 0)]));
}

/** connection.open-ok (10/41), reserved shortstr "". */
export function connectionOpenOk(): Buffer {
  return methodFrame(0, 10, 41, shortstr(''));
}

/** connection.close (10/50). */
export function connectionClose(replyCode: number, replyText: string, classId = 0, methodId = 0): Buffer {
  return methodFrame(0, 10, 50, Buffer.concat([u16(replyCode), shortstr(replyText), u16(classId), u16(methodId)]));
}

/** connection.close-ok (10/51). */
export function connectionCloseOk(): Buffer {
  return methodFrame(0, 10, 51);
}

/** channel.open-ok (20/11), reserved longstr "". */
export function channelOpenOk(channel: number): Buffer {
  return methodFrame(channel, 20, 11, longstr(''));
}

/** channel.close (20/40). */
export function channelClose(channel: number, replyCode: number, replyText: string, classId = 0, methodId = 0): Buffer {
  return methodFrame(channel, 20, 40, Buffer.concat([u16(replyCode), shortstr(replyText), u16(classId), u16(methodId)]));
}

/** channel.close-ok (20/41). */
export function channelCloseOk(channel: number): Buffer {
  return methodFrame(channel, 20, 41);
}

// ---------------------------------------------------------------------------
// Decoding (what the client sent)
// ---------------------------------------------------------------------------

export interface Frame {
  readonly type: number;
  readonly channel: number;
  readonly payload: Buffer;
  /** For method frames: class id and method id; otherwise -1. */
  readonly classId: number;
  readonly methodId: number;
  /** For method frames: the arguments after class/method id. */
  readonly args: Buffer;
}

/** A cursor over a Buffer for reading AMQP fields. Throws RangeError on truncation. */
export class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new RangeError(`truncated: need ${n} bytes at ${this.offset} of ${this.buf.length}`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  shortstr(): string {
    return this.bytes(this.u8()).toString('utf8');
  }
  longstr(): Buffer {
    return this.bytes(this.u32());
  }
  table(): Record<string, unknown> {
    const r = new Reader(this.longstr());
    const out: Record<string, unknown> = {};
    while (r.offset < r.buf.length) {
      const key = r.shortstr();
      out[key] = r.value();
    }
    return out;
  }
  /** One field value (RabbitMQ's type codes). */
  value(): unknown {
    const t = String.fromCharCode(this.u8());
    switch (t) {
      case 't':
        return this.u8() !== 0;
      case 'b':
        this.need(1);
        return this.buf.readInt8(this.offset++);
      case 'B':
        return this.u8();
      case 's': {
        this.need(2);
        const v = this.buf.readInt16BE(this.offset);
        this.offset += 2;
        return v;
      }
      case 'u':
        return this.u16();
      case 'I': {
        this.need(4);
        const v = this.buf.readInt32BE(this.offset);
        this.offset += 4;
        return v;
      }
      case 'i':
        return this.u32();
      case 'l': {
        this.need(8);
        const v = this.buf.readBigInt64BE(this.offset);
        this.offset += 8;
        return v;
      }
      case 'f': {
        this.need(4);
        const v = this.buf.readFloatBE(this.offset);
        this.offset += 4;
        return v;
      }
      case 'd': {
        this.need(8);
        const v = this.buf.readDoubleBE(this.offset);
        this.offset += 8;
        return v;
      }
      case 'D': {
        const scale = this.u8();
        this.need(4);
        const value = this.buf.readInt32BE(this.offset);
        this.offset += 4;
        return { scale, value };
      }
      case 'S':
        return this.longstr().toString('utf8');
      case 'x':
        return Buffer.from(this.longstr());
      case 'T':
        return this.u64();
      case 'V':
        return null;
      case 'F':
        return this.table();
      case 'A': {
        const r = new Reader(this.longstr());
        const items: unknown[] = [];
        while (r.offset < r.buf.length) items.push(r.value());
        return items;
      }
      default:
        throw new RangeError(`unknown field type ${JSON.stringify(t)}`);
    }
  }
}

function toFrame(type: number, channel: number, payload: Buffer): Frame {
  if (type === FRAME_METHOD && payload.length >= 4) {
    return { type, channel, payload, classId: payload.readUInt16BE(0), methodId: payload.readUInt16BE(2), args: payload.subarray(4) };
  }
  return { type, channel, payload, classId: -1, methodId: -1, args: Buffer.alloc(0) };
}

export interface StartOk {
  readonly clientProperties: Record<string, unknown>;
  readonly mechanism: string;
  readonly response: Buffer;
  readonly locale: string;
}
export function parseStartOk(f: Frame): StartOk {
  const r = new Reader(f.args);
  return { clientProperties: r.table(), mechanism: r.shortstr(), response: Buffer.from(r.longstr()), locale: r.shortstr() };
}

export interface TuneOk {
  readonly channelMax: number;
  readonly frameMax: number;
  readonly heartbeat: number;
}
export function parseTuneOk(f: Frame): TuneOk {
  const r = new Reader(f.args);
  return { channelMax: r.u16(), frameMax: r.u32(), heartbeat: r.u16() };
}

export interface Open {
  readonly virtualhost: string;
  readonly insist: boolean;
}
export function parseOpen(f: Frame): Open {
  const r = new Reader(f.args);
  const virtualhost = r.shortstr();
  r.shortstr(); // reserved-1 (capabilities)
  const bits = r.offset < r.buf.length ? r.u8() : 0;
  return { virtualhost, insist: (bits & 1) !== 0 };
}

export interface Close {
  readonly replyCode: number;
  readonly replyText: string;
  readonly classId: number;
  readonly methodId: number;
}
/** Arguments of connection.close (10/50) or channel.close (20/40). */
export function parseClose(f: Frame): Close {
  const r = new Reader(f.args);
  return { replyCode: r.u16(), replyText: r.shortstr(), classId: r.u16(), methodId: r.u16() };
}
export const parseConnectionClose = parseClose;

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

export interface HandshakeOptions extends StartOptions, TuneOptions {}

export interface HandshakeResult {
  readonly startOk: StartOk;
  readonly tuneOk: TuneOk;
  readonly open: Open;
}

export interface NextFrameOptions {
  /** Default 5000 ms. */
  readonly timeout?: number;
  /** Skip heartbeat frames (default false for nextFrame, true for expectMethod). */
  readonly skipHeartbeats?: boolean;
}

export interface FakeConnection {
  readonly socket: net.Socket;
  /** The 8 bytes the client sent first. */
  readonly header: Buffer;
  /** Write raw bytes (anything at all). Resolves once handed to the OS; never rejects. */
  send(bytes: Uint8Array | string): Promise<void>;
  sendFrame(type: number, channel: number, payload: Uint8Array): Promise<void>;
  sendMethod(channel: number, classId: number, methodId: number, args?: Uint8Array): Promise<void>;
  /** The next whole frame the client sent. Rejects on timeout, on a malformed frame, or when the socket closes first. */
  nextFrame(o?: NextFrameOptions): Promise<Frame>;
  /** The next frame, which must be the given method (heartbeats skipped); rejects otherwise. */
  expectMethod(classId: number, methodId: number, o?: NextFrameOptions): Promise<Frame>;
  /** start → start-ok, tune → tune-ok, open → open-ok: the client is then open. */
  handshake(o?: HandshakeOptions): Promise<HandshakeResult>;
  /** Resolves when the socket has closed (`reset` when it ended with an error such as ECONNRESET). */
  readonly closed: Promise<{ reset: boolean }>;
  readonly isClosed: boolean;
  /** Graceful end (FIN). */
  end(): void;
  /** Destroy the socket (abrupt). */
  close(): void;
}

export interface FakeServer {
  readonly host: string;
  readonly port: number;
  /** Every connection accepted so far (whose header was read). */
  readonly connections: readonly FakeConnection[];
  /** Errors thrown by scripts (also rethrown by settled()). */
  readonly errors: readonly unknown[];
  /** Waits for every script started so far; rethrows the first failure. */
  settled(): Promise<void>;
  /** Stop listening, destroy every socket; resolves when no handle is left. Never rejects. */
  close(): Promise<void>;
}

export type FakeScript = (conn: FakeConnection) => Promise<void> | void;

export interface FakeServerOptions {
  readonly host?: string;
}

class Connection implements FakeConnection {
  header: Buffer = Buffer.alloc(0);
  readonly closed: Promise<{ reset: boolean }>;
  isClosed = false;
  private buffered: Buffer = Buffer.alloc(0);
  private wakers: (() => void)[] = [];
  private failure: Error | undefined;

  constructor(readonly socket: net.Socket) {
    let hadError = false;
    socket.on('error', () => {
      hadError = true;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (err) => {
        this.isClosed = true;
        this.poke();
        resolve({ reset: err || hadError });
      });
    });
    socket.on('data', (d: Buffer) => {
      this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
      this.poke();
    });
  }

  private poke(): void {
    const ws = this.wakers;
    this.wakers = [];
    for (const w of ws) w();
  }

  /** Waits until `take` returns a value, more data arrives, the socket closes or the timeout passes. */
  private async waitFor<T>(take: () => T | undefined, timeout: number, what: string): Promise<T> {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (this.failure) throw this.failure;
      const v = take();
      if (v !== undefined) return v;
      if (this.isClosed) throw new Error(`fake-server: socket closed while waiting for ${what} (${this.buffered.length} bytes pending)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake-server: timeout waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.wakers = this.wakers.filter((w) => w !== wake);
          resolve();
        }, left);
        this.wakers.push(wake);
      });
    }
  }

  async readHeader(timeout: number): Promise<void> {
    this.header = await this.waitFor(
      () => {
        if (this.buffered.length < 8) return undefined;
        const h = this.buffered.subarray(0, 8);
        this.buffered = this.buffered.subarray(8);
        return h;
      },
      timeout,
      'the protocol header',
    );
  }

  private takeFrame(): Frame | undefined {
    const b = this.buffered;
    if (b.length < 7) return undefined;
    const size = b.readUInt32BE(3);
    if (b.length < 7 + size + 1) return undefined;
    const end = b[7 + size];
    if (end !== FRAME_END) {
      this.failure = new Error(`fake-server: client sent a frame with frame-end 0x${(end ?? 0).toString(16)}`);
      throw this.failure;
    }
    const f = toFrame(b.readUInt8(0), b.readUInt16BE(1), Buffer.from(b.subarray(7, 7 + size)));
    this.buffered = b.subarray(8 + size);
    return f;
  }

  async nextFrame(o: NextFrameOptions = {}): Promise<Frame> {
    const skip = o.skipHeartbeats ?? false;
    return this.waitFor(
      () => {
        for (;;) {
          const f = this.takeFrame();
          if (f === undefined) return undefined;
          if (skip && f.type === FRAME_HEARTBEAT) continue;
          return f;
        }
      },
      o.timeout ?? 5000,
      'a frame',
    );
  }

  async expectMethod(classId: number, methodId: number, o: NextFrameOptions = {}): Promise<Frame> {
    const f = await this.nextFrame({ skipHeartbeats: true, ...o });
    if (f.type !== FRAME_METHOD || f.classId !== classId || f.methodId !== methodId) {
      throw new Error(
        `fake-server: expected method ${classId}/${methodId}, got frame type ${f.type} channel ${f.channel}` +
          (f.type === FRAME_METHOD ? ` method ${f.classId}/${f.methodId}` : ''),
      );
    }
    return f;
  }

  send(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  sendFrame(type: number, channel: number, payload: Uint8Array): Promise<void> {
    return this.send(frame(type, channel, payload));
  }

  sendMethod(channel: number, classId: number, methodId: number, args?: Uint8Array): Promise<void> {
    return this.send(methodFrame(channel, classId, methodId, args));
  }

  async handshake(o: HandshakeOptions = {}): Promise<HandshakeResult> {
    await this.send(connectionStart(o));
    const startOk = parseStartOk(await this.expectMethod(10, 11));
    await this.send(connectionTune(o));
    const tuneOk = parseTuneOk(await this.expectMethod(10, 31));
    const open = parseOpen(await this.expectMethod(10, 40));
    await this.send(connectionOpenOk());
    return { startOk, tuneOk, open };
  }

  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Listens on 127.0.0.1 (port chosen by the OS). For each connection: reads the
 * 8-byte protocol header, then runs `script`. A script that throws does not
 * crash anything: the error is kept for settled()/errors and the socket is destroyed.
 */
export async function startFakeServer(script: FakeScript, options: FakeServerOptions = {}): Promise<FakeServer> {
  const host = options.host ?? '127.0.0.1';
  const connections: Connection[] = [];
  const sockets = new Set<net.Socket>();
  const socketClosed = new Set<Promise<void>>();
  const runs: Promise<void>[] = [];
  const errors: unknown[] = [];
  let closing = false;

  const server = net.createServer((socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    sockets.add(socket);
    const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socketClosed.add(done);
    void done.then(() => {
      sockets.delete(socket);
      socketClosed.delete(done);
    });
    const conn = new Connection(socket);
    const run = (async () => {
      try {
        await conn.readHeader(10_000);
      } catch {
        socket.destroy();
        return; // the client never sent a header: nothing to script
      }
      connections.push(conn);
      try {
        await script(conn);
      } catch (err) {
        errors.push(err);
        socket.destroy();
        throw err;
      }
    })();
    // Kept for settled(); marked handled so a failing script is never an unhandled rejection.
    run.catch(() => {});
    runs.push(run);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fake-server: unexpected server address');
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));

  return {
    host,
    port: addr.port,
    get connections() {
      return [...connections];
    },
    get errors() {
      return [...errors];
    },
    async settled() {
      let seen = 0;
      // Scripts started while waiting are waited for too.
      while (seen < runs.length) {
        const batch = runs.slice(seen);
        seen = runs.length;
        await Promise.all(batch);
      }
    },
    async close() {
      if (!closing) {
        closing = true;
        server.close();
        for (const s of sockets) s.destroy();
      }
      await Promise.all([serverClosed, ...socketClosed]);
      await Promise.allSettled(runs);
      // A server's 'close' event comes before libuv has released its handle; let the loop go round.
      await nextLoopTurn();
      await nextLoopTurn();
    },
  };
}

function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
