// A deliberately minimal AMQP 0-9-1 connection for the benchmark: the raw
// baseline client, the side connection that declares/polls/deletes queues and
// pre-fills them, and the RPC echo server. Every byte layout is written here by
// hand from the 0-9-1 spec (see /work/shared/SPEC-NOTES.md); nothing is
// imported from src/ so the baseline does not move when the client does.
//
// Two ideas make it fast:
//   * publishing writes a pre-encoded method+header+body template, repeated
//     into one big chunk, and waits for 'drain' when socket.write says so;
//   * consuming never decodes a delivery: the frame scanner counts content
//     header frames (exactly one per message) and skips every body byte,
//     acking with `multiple` once per socket chunk.

import net from 'node:net';
import { once } from 'node:events';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;

/** (class << 16) | method, the same key our generated code uses. */
const M = (c: number, m: number): number => ((c << 16) | m) >>> 0;
export const CONNECTION_START = M(10, 10);
export const CONNECTION_TUNE = M(10, 30);
export const CONNECTION_OPEN_OK = M(10, 41);
export const CONNECTION_CLOSE = M(10, 50);
export const CONNECTION_CLOSE_OK = M(10, 51);
export const CHANNEL_OPEN_OK = M(20, 11);
export const CHANNEL_CLOSE = M(20, 40);
export const QUEUE_DECLARE_OK = M(50, 11);
export const QUEUE_DELETE_OK = M(50, 41);
export const BASIC_QOS_OK = M(60, 11);
export const BASIC_CONSUME_OK = M(60, 21);
export const BASIC_CANCEL_OK = M(60, 31);
export const BASIC_DELIVER = M(60, 60);
export const BASIC_ACK = M(60, 80);
export const BASIC_NACK = M(60, 120);
export const CONFIRM_SELECT_OK = M(85, 11);

/** Growable big-endian writer; only what the handful of methods here need. */
export class Enc {
  buf: Buffer;
  pos = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.room(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x100000000), this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  shortstr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new RangeError(`shortstr too long: ${s}`);
    return this.u8(b.length).bytes(b);
  }
  longstr(b: Uint8Array | string): this {
    const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    return this.u32(bytes.length).bytes(bytes);
  }
  /** A field table of int32 ('I'), long-string ('S') and bool ('t') values. */
  table(t: Record<string, number | string | boolean>): this {
    const inner = new Enc(64);
    for (const [k, v] of Object.entries(t)) {
      inner.shortstr(k);
      if (typeof v === 'number') inner.u8(0x49 /* I */).u32(v);
      else if (typeof v === 'boolean') inner.u8(0x74 /* t */).u8(v ? 1 : 0);
      else inner.u8(0x53 /* S */).longstr(v);
    }
    return this.longstr(inner.done());
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** One method frame: type, channel, size, class, method, args, frame-end. */
export function methodFrame(channel: number, classId: number, methodId: number, args?: (e: Enc) => void): Buffer {
  const e = new Enc(64);
  e.u8(FRAME_METHOD).u16(channel).u32(0).u16(classId).u16(methodId);
  if (args) args(e);
  e.u8(FRAME_END);
  const b = e.done();
  b.writeUInt32BE(b.length - 8, 3);
  return b;
}

export interface RawProps {
  correlationId?: string;
  replyTo?: string;
  deliveryMode?: number;
}

/**
 * Encode a complete basic.publish: method frame, content header, and as many
 * body frames as frame-max requires. This is the template the raw publisher
 * repeats.
 */
export function encodePublish(
  channel: number,
  exchange: string,
  routingKey: string,
  body: Uint8Array,
  frameMax: number,
  props: RawProps = {},
): Buffer {
  const e = new Enc(body.length + 256);
  // method frame
  const m0 = e.pos;
  e.u8(FRAME_METHOD).u16(channel).u32(0).u16(60).u16(40).u16(0).shortstr(exchange).shortstr(routingKey).u8(0);
  e.u8(FRAME_END);
  e.buf.writeUInt32BE(e.pos - m0 - 8, m0 + 3);
  // header frame
  const h0 = e.pos;
  e.u8(FRAME_HEADER).u16(channel).u32(0).u16(60).u16(0).u64(body.length);
  let flags = 0;
  if (props.deliveryMode !== undefined) flags |= 0x1000;
  if (props.correlationId !== undefined) flags |= 0x0400;
  if (props.replyTo !== undefined) flags |= 0x0200;
  e.u16(flags);
  if (props.deliveryMode !== undefined) e.u8(props.deliveryMode);
  if (props.correlationId !== undefined) e.shortstr(props.correlationId);
  if (props.replyTo !== undefined) e.shortstr(props.replyTo);
  e.u8(FRAME_END);
  e.buf.writeUInt32BE(e.pos - h0 - 8, h0 + 3);
  // body frames
  const max = frameMax - 8;
  for (let off = 0; off < body.length; off += max) {
    const len = Math.min(max, body.length - off);
    e.u8(FRAME_BODY).u16(channel).u32(len).bytes(body.subarray(off, off + len)).u8(FRAME_END);
  }
  return e.done();
}

/** Read the replyTo and correlationId of a basic content header payload. */
export function readReplyProps(p: Buffer): { replyTo: string | undefined; correlationId: string | undefined } {
  // class(2) weight(2) size(8) flags(2)
  const flags = p.readUInt16BE(12);
  let o = 14;
  let replyTo: string | undefined;
  let correlationId: string | undefined;
  const sstr = (): string => {
    const n = p[o]!;
    const s = p.toString('utf8', o + 1, o + 1 + n);
    o += 1 + n;
    return s;
  };
  if (flags & 0x8000) sstr(); // content-type
  if (flags & 0x4000) sstr(); // content-encoding
  if (flags & 0x2000) o += 4 + p.readUInt32BE(o); // headers
  if (flags & 0x1000) o += 1; // delivery-mode
  if (flags & 0x0800) o += 1; // priority
  if (flags & 0x0400) correlationId = sstr();
  if (flags & 0x0200) replyTo = sstr();
  return { replyTo, correlationId };
}

export interface RawOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  vhost: string;
}

export function parseUrl(url: string): RawOptions {
  const u = new URL(url);
  const path = decodeURIComponent(u.pathname.slice(1));
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5672),
    user: decodeURIComponent(u.username || 'guest'),
    password: decodeURIComponent(u.password || 'guest'),
    vhost: path === '' ? '/' : path,
  };
}

type Waiter = { id: number; resolve: (p: Buffer) => void; reject: (e: Error) => void };

/** A message assembled in content mode (RPC server only). */
export interface RawMessage {
  deliver: Buffer;
  header: Buffer;
  body: Buffer;
}

/**
 * One connection with one channel (id 1). Synchronous methods are sent one at a
 * time with `call`; the frame scanner below handles everything else.
 */
export class RawConnection {
  readonly socket: net.Socket;
  frameMax = 131072;
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private failWaiters: Array<(e: Error) => void> = [];

  // ---- scanner state (persists across chunks) ----
  private hdr = Buffer.alloc(7);
  private hdrLen = 0;
  private ftype = 0;
  /** bytes of the current frame's payload+end left to skip */
  private skip = 0;
  /** payload being collected (methods, and content when collectContent) */
  private coll: Buffer | null = null;
  private collPos = 0;
  private collType = 0;

  /** Content headers seen: one per delivered (or returned) message. */
  deliveries = 0;
  /** Assemble deliveries into RawMessage (RPC server); otherwise skip content. */
  collectContent = false;
  /** Called at the end of every socket chunk (the consumer acks here). */
  onChunkEnd: (() => void) | null = null;
  /** Called for every header frame when not collecting content. */
  onHeader: (() => void) | null = null;
  onMessage: ((m: RawMessage) => void) | null = null;
  onConfirm: ((tag: number, multiple: boolean, nack: boolean) => void) | null = null;
  /** Called for methods nothing here handles (channel.open-ok of other channels, …). */
  onOtherMethod: ((id: number, args: Buffer) => void) | null = null;
  private curDeliver: Buffer | null = null;
  private curHeader: Buffer | null = null;
  private curBody: Buffer[] = [];
  private curLeft = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.scan(c));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('raw: socket closed')));
  }

  static async open(opts: RawOptions): Promise<RawConnection> {
    const socket = net.connect({ host: opts.host, port: opts.port });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const c = new RawConnection(socket);
    const start = c.expect(CONNECTION_START);
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await start;
    const tuneP = c.expect(CONNECTION_TUNE);
    c.send(
      methodFrame(0, 10, 11, (e) =>
        e
          .table({ product: 'amqp091-bench-raw' })
          .shortstr('PLAIN')
          .longstr(`\0${opts.user}\0${opts.password}`)
          .shortstr('en_US'),
      ),
    );
    const tune = await tuneP;
    const channelMax = tune.readUInt16BE(0);
    const frameMax = tune.readUInt32BE(2);
    c.frameMax = frameMax === 0 ? 131072 : Math.min(frameMax, 131072);
    c.send(methodFrame(0, 10, 31, (e) => e.u16(channelMax).u32(c.frameMax).u16(0)));
    await c.call(methodFrame(0, 10, 40, (e) => e.shortstr(opts.vhost).shortstr('').u8(0)), CONNECTION_OPEN_OK);
    await c.call(methodFrame(1, 20, 10, (e) => e.shortstr('')), CHANNEL_OPEN_OK);
    return c;
  }

  /** True between frames: nothing of a frame is pending in the scanner. */
  get idle(): boolean {
    return this.skip === 0 && this.coll === null && this.hdrLen === 0;
  }

  send(b: Uint8Array): boolean {
    return this.socket.write(b);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    if (w) w.reject(e);
    for (const f of this.failWaiters.splice(0)) f(e);
  }

  /** A promise that rejects when the connection fails (for races). */
  failed(): Promise<never> {
    return new Promise((_, reject) => {
      if (this.failure) reject(this.failure);
      else this.failWaiters.push(reject);
    });
  }

  private expect(id: number): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('raw: one synchronous call at a time'));
    return new Promise((resolve, reject) => {
      this.waiter = { id, resolve, reject };
    });
  }

  /** Send a method and wait for `replyId`; resolves with the reply's arguments. */
  call(frame: Buffer, replyId: number): Promise<Buffer> {
    const p = this.expect(replyId);
    this.send(frame);
    return p;
  }

  async queueDeclare(
    name: string,
    o: { passive?: boolean; exclusive?: boolean; autoDelete?: boolean; args?: Record<string, number | string | boolean> } = {},
  ): Promise<{ queue: string; messageCount: number; consumerCount: number }> {
    const bits = (o.passive ? 1 : 0) | (o.exclusive ? 4 : 0) | (o.autoDelete ? 8 : 0);
    const r = await this.call(
      methodFrame(1, 50, 10, (e) => e.u16(0).shortstr(name).u8(bits).table(o.args ?? {})),
      QUEUE_DECLARE_OK,
    );
    const n = r[0]!;
    return { queue: r.toString('utf8', 1, 1 + n), messageCount: r.readUInt32BE(1 + n), consumerCount: r.readUInt32BE(5 + n) };
  }

  async queueDelete(name: string): Promise<number> {
    const r = await this.call(methodFrame(1, 50, 40, (e) => e.u16(0).shortstr(name).u8(0)), QUEUE_DELETE_OK);
    return r.readUInt32BE(0);
  }

  async qos(prefetch: number): Promise<void> {
    await this.call(methodFrame(1, 60, 10, (e) => e.u32(0).u16(prefetch).u8(0)), BASIC_QOS_OK);
  }

  async confirmSelect(): Promise<void> {
    await this.call(methodFrame(1, 85, 10, (e) => e.u8(0)), CONFIRM_SELECT_OK);
  }

  async consume(queue: string, noAck: boolean, tag = ''): Promise<void> {
    await this.call(
      methodFrame(1, 60, 20, (e) => e.u16(0).shortstr(queue).shortstr(tag).u8(noAck ? 2 : 0).table({})),
      BASIC_CONSUME_OK,
    );
  }

  ack(tag: number, multiple: boolean): void {
    this.send(methodFrame(1, 60, 80, (e) => e.u64(tag).u8(multiple ? 1 : 0)));
  }

  async close(): Promise<void> {
    if (this.failure) {
      this.socket.destroy();
      return;
    }
    try {
      const t = setTimeout(() => this.socket.destroy(), 2000);
      await this.call(methodFrame(0, 10, 50, (e) => e.u16(200).shortstr('bye').u16(0).u16(0)), CONNECTION_CLOSE_OK);
      clearTimeout(t);
    } catch {
      // already gone
    }
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ scanner

  private scan(chunk: Buffer): void {
    const len = chunk.length;
    let off = 0;
    while (off < len) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, len - off);
        this.skip -= k;
        off += k;
        continue;
      }
      if (this.coll !== null) {
        const k = Math.min(this.coll.length - this.collPos, len - off);
        chunk.copy(this.coll, this.collPos, off, off + k);
        this.collPos += k;
        off += k;
        if (this.collPos === this.coll.length) {
          const frame = this.coll;
          this.coll = null;
          if (frame[frame.length - 1] !== FRAME_END) {
            this.fail(new Error('raw: bad frame end'));
            this.socket.destroy();
            return;
          }
          this.frame(this.collType, frame.subarray(0, frame.length - 1));
        }
        continue;
      }
      // frame header: 7 bytes, possibly split across chunks
      let size: number;
      if (this.hdrLen === 0 && len - off >= 7) {
        this.ftype = chunk[off]!;
        size = chunk.readUInt32BE(off + 3);
        off += 7;
      } else {
        const k = Math.min(7 - this.hdrLen, len - off);
        chunk.copy(this.hdr, this.hdrLen, off, off + k);
        this.hdrLen += k;
        off += k;
        if (this.hdrLen < 7) break;
        this.hdrLen = 0;
        this.ftype = this.hdr[0]!;
        size = this.hdr.readUInt32BE(3);
      }
      const t = this.ftype;
      if (t === FRAME_METHOD || (this.collectContent && t !== FRAME_HEARTBEAT)) {
        // collect payload + frame-end; in place when the chunk holds it all
        if (len - off >= size + 1) {
          if (chunk[off + size] !== FRAME_END) {
            this.fail(new Error('raw: bad frame end'));
            this.socket.destroy();
            return;
          }
          const payload = chunk.subarray(off, off + size);
          off += size + 1;
          this.frame(t, payload);
        } else {
          this.coll = Buffer.allocUnsafe(size + 1);
          this.collPos = 0;
          this.collType = t;
        }
      } else {
        if (t === FRAME_HEADER) {
          this.deliveries++;
          if (this.onHeader !== null) this.onHeader();
        }
        this.skip = size + 1;
      }
    }
    if (this.onChunkEnd !== null) this.onChunkEnd();
  }

  private frame(type: number, p: Buffer): void {
    if (type === FRAME_METHOD) {
      const id = p.readUInt32BE(0);
      const args = p.subarray(4);
      const w = this.waiter;
      if (w !== null && w.id === id) {
        this.waiter = null;
        // copy: the caller may keep it after the chunk is reused
        w.resolve(Buffer.from(args));
        return;
      }
      switch (id) {
        case BASIC_ACK:
        case BASIC_NACK: {
          const tag = args.readUInt32BE(0) * 0x100000000 + args.readUInt32BE(4);
          if (this.onConfirm !== null) this.onConfirm(tag, (args[8]! & 1) !== 0, id === BASIC_NACK);
          return;
        }
        case BASIC_DELIVER:
          if (this.collectContent) this.curDeliver = Buffer.from(args);
          return;
        case CONNECTION_CLOSE:
        case CHANNEL_CLOSE: {
          const code = args.readUInt16BE(0);
          const text = args.toString('utf8', 3, 3 + args[2]!);
          this.fail(new Error(`raw: ${id === CHANNEL_CLOSE ? 'channel' : 'connection'} closed by broker: ${code} ${text}`));
          this.socket.destroy();
          return;
        }
        default:
          // consume-ok for a no-wait path, blocked/unblocked, etc.
          if (this.onOtherMethod !== null) this.onOtherMethod(id, args);
          return;
      }
    }
    if (type === FRAME_HEADER) {
      this.deliveries++;
      this.curHeader = Buffer.from(p);
      this.curBody = [];
      this.curLeft = Number(p.readBigUInt64BE(4));
      if (this.curLeft === 0) this.emitMessage();
      return;
    }
    if (type === FRAME_BODY) {
      this.curBody.push(Buffer.from(p));
      this.curLeft -= p.length;
      if (this.curLeft <= 0) this.emitMessage();
    }
  }

  private emitMessage(): void {
    const m: RawMessage = {
      deliver: this.curDeliver ?? Buffer.alloc(0),
      header: this.curHeader ?? Buffer.alloc(0),
      body: this.curBody.length === 1 ? this.curBody[0]! : Buffer.concat(this.curBody),
    };
    this.curDeliver = null;
    this.curHeader = null;
    this.curBody = [];
    if (this.onMessage !== null) this.onMessage(m);
  }

  // ------------------------------------------------------------ bulk paths

  /**
   * Publish n copies of `body` to `queue` through the default exchange.
   * Without confirm, resolves once everything is handed to the socket; with
   * confirm, keeps at most `window` unconfirmed and resolves on the last ack.
   */
  async publishMany(queue: string, body: Uint8Array, n: number, o: { confirm: boolean; window: number; tpl?: Buffer }): Promise<void> {
    // o.tpl: a pre-encoded publish to repeat instead (e.g. one with properties)
    const tpl = o.tpl ?? encodePublish(1, '', queue, body, this.frameMax);
    const per = Math.max(1, Math.floor((256 * 1024) / tpl.length));
    const chunk = per === 1 ? tpl : Buffer.allocUnsafe(per * tpl.length);
    if (per > 1) for (let i = 0; i < per; i++) tpl.copy(chunk, i * tpl.length);
    const failed = this.failed();
    failed.catch(() => undefined);
    if (o.confirm) await this.confirmSelect();
    let sent = 0;
    let confirmed = 0;
    let wake: (() => void) | null = null;
    let nacked = false;
    if (o.confirm) {
      this.onConfirm = (tag, _multiple, nack) => {
        if (nack) nacked = true;
        if (tag > confirmed) confirmed = tag;
        if (wake !== null) {
          const w = wake;
          wake = null;
          w();
        }
      };
    }
    const window = o.confirm ? o.window : Number.POSITIVE_INFINITY;
    while (sent < n) {
      const k = Math.min(per, n - sent, window - (sent - confirmed));
      if (k <= 0) {
        await Promise.race([new Promise<void>((r) => (wake = r)), failed]);
        continue;
      }
      const buf = k === per ? chunk : chunk.subarray(0, k * tpl.length);
      sent += k;
      if (!this.socket.write(buf)) await Promise.race([once(this.socket, 'drain'), failed]);
    }
    if (o.confirm) {
      while (confirmed < n) await Promise.race([new Promise<void>((r) => (wake = r)), failed]);
      this.onConfirm = null;
      if (nacked) throw new Error('raw: broker nacked a publish');
    }
  }

  /** Consume n messages from `queue` without decoding them. */
  async consumeMany(queue: string, n: number, o: { noAck: boolean; prefetch: number }): Promise<void> {
    if (!o.noAck) await this.qos(o.prefetch);
    const base = this.deliveries;
    let acked = 0;
    const done = new Promise<void>((resolve) => {
      this.onChunkEnd = () => {
        const got = this.deliveries - base;
        // delivery tags count from 1 per channel: the tag of the latest
        // delivery is the number of deliveries this channel has seen
        if (!o.noAck && this.deliveries > acked) {
          acked = this.deliveries;
          this.ack(acked, true);
        }
        if (got >= n) {
          this.onChunkEnd = null;
          resolve();
        }
      };
    });
    await this.consume(queue, o.noAck);
    await Promise.race([done, this.failed()]);
  }
}

/** Poll until `queue` holds at least n messages (the broker counts them asynchronously after a publish). */
export async function waitDepth(side: RawConnection, queue: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { messageCount } = await side.queueDeclare(queue, { passive: true });
    if (messageCount >= n) return;
    if (Date.now() > deadline) throw new Error(`queue ${queue} holds ${messageCount} of ${n} messages after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
