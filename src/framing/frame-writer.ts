// FrameWriter: encodes outgoing frames into one pooled buffer and hands
// them to the transport once per event-loop turn, so a burst of publishes
// or acks costs one write. Large body slices are not copied: they go out as
// their own chunk between the pooled ones. Bytes already handed to the
// transport are never overwritten: after a flush, writing continues past
// them, and a fresh slab replaces a filled one.

import { Writer } from '../wire/index.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../generated/index.js';
import { encodeBasicAck, encodeBasicProperties, encodeBasicPublish, type BasicPropertiesInit } from '../../generated/index.js';
import { FRAME_HEADER_SIZE } from './frame-parser.js';

const SLAB_SIZE = 64 * 1024;
/** Written-out slabs kept for reuse: fresh memory costs page faults on first touch. */
const MAX_SPARE_SLABS = 32;
/** Body slices at least this long are sent as their own chunk, not copied. */
const LARGE_BODY = 8 * 1024;
const BASIC_CLASS = 60;
/** basic.ack frame: header, class and method ids, 64-bit tag, bits, frame-end. */
const ACK_FRAME_SIZE = FRAME_HEADER_SIZE + 4 + 8 + 1 + 1;
const ACK_TAG_OFFSET = FRAME_HEADER_SIZE + 4;

/**
 * The last basic.publish method frame a channel wrote, kept whole: most
 * publishers send run after run to the same exchange and routing key, and
 * copying 30-odd cached bytes beats encoding two short strings each time.
 */
export class PublishFrameCache {
  exchange = '';
  routingKey = '';
  /** mandatory | immediate << 1 */
  flags = -1;
  frame: Uint8Array = new Uint8Array(0);
}

/**
 * Where the frames go. `write` returns true while the transport's buffered
 * bytes are below its high-water mark; when it returns false the owner
 * calls `FrameWriter.drained()` once the transport has drained. The sink
 * calls `written`, when given, once the transport no longer needs the
 * chunks (they are in the kernel), if it can tell; their slabs are then reused.
 */
export type FrameSink = (chunks: Uint8Array[], written: (() => void) | undefined) => boolean;

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class FrameWriter {
  /** The pooled buffer; generated encoders write into it between begin() and end(). */
  readonly w = new Writer(SLAB_SIZE);
  /** Largest payload per frame: negotiated frame-max − 8. */
  maxPayload = 4096 - 8;
  /** Milliseconds timestamp of the last flush (for heartbeats). */
  lastFlush = 0;

  private start = 0;
  private chunks: Uint8Array[] = [];
  private scheduled = false;
  private failure: Error | null = null;
  /** Waiters for the batch not yet flushed. */
  private batch: Waiter | null = null;
  /** Waiters of flushed batches held back by the transport's high-water mark. */
  private draining: Waiter[] = [];
  /**
   * Where the last widenable basic.ack starts, or -1. Any later frame moves
   * `w.pos` past its end (widenAck checks that); only a slab change (cut,
   * fail) must clear it, since a new slab restarts positions at 0.
   */
  private ackAt = -1;
  private ackChannel = 0;
  private ackTag = 0;
  /** Slabs filled during this batch: reusable once the batch is written. */
  private retired: Buffer[] = [];
  private spare: Buffer[] = [];

  constructor(private readonly sink: FrameSink) {}

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Start a frame; returns the mark to pass to end() or rollback(). */
  begin(type: number, channel: number): number {
    const w = this.w;
    const at = w.pos;
    w.ensure(FRAME_HEADER_SIZE);
    const b = w.buf;
    b[at] = type;
    b.writeUInt16BE(channel, at + 1);
    w.pos = at + FRAME_HEADER_SIZE; // size is patched by end()
    return at;
  }

  /** Finish the frame begun at `mark`: patch its size, add frame-end, schedule a flush. */
  end(mark: number): void {
    const w = this.w;
    const size = w.pos - mark - FRAME_HEADER_SIZE;
    if (size > this.maxPayload) {
      w.pos = mark;
      throw new TypeError(`frame payload of ${size} bytes exceeds frame-max ${this.maxPayload + 8}`);
    }
    w.buf.writeUInt32BE(size, mark + 3);
    w.u8(FRAME_END);
    this.schedule();
  }

  /** Drop everything written since `mark` (an encoder threw). */
  rollback(mark: number): void {
    this.w.pos = mark;
  }

  /** Begin a method frame; the caller runs the generated encoder then end(). */
  method(channel: number): number {
    return this.begin(FRAME_METHOD, channel);
  }

  /**
   * A whole publish: the basic.publish method frame (from `cache` when the
   * exchange, routing key and flags are the ones it holds), the content
   * header and the body frames. Throws `TypeError`, having written nothing,
   * when an argument or property cannot be encoded.
   */
  publish(
    channel: number,
    cache: PublishFrameCache,
    exchange: string,
    routingKey: string,
    flags: number,
    properties: BasicPropertiesInit | undefined,
    body: Uint8Array,
  ): void {
    const len = body.length;
    // Method and header frames, and the body unless it goes out uncopied.
    this.reserve(256 + (len < LARGE_BODY ? len : 0) + 8 * Math.ceil(len / this.maxPayload));
    const w = this.w;
    const mark = w.pos;
    if (exchange === cache.exchange && routingKey === cache.routingKey && flags === cache.flags) {
      const frame = cache.frame;
      w.ensure(frame.length);
      w.buf.set(frame, mark);
      w.pos = mark + frame.length;
    } else {
      this.begin(FRAME_METHOD, channel);
      try {
        encodeBasicPublish(w, { exchange, routingKey, mandatory: (flags & 1) !== 0, immediate: (flags & 2) !== 0 });
        this.end(mark);
      } catch (err) {
        w.pos = mark;
        throw err;
      }
      cache.frame = Uint8Array.prototype.slice.call(w.buf, mark, w.pos);
      cache.exchange = exchange;
      cache.routingKey = routingKey;
      cache.flags = flags;
    }
    try {
      this.content(channel, properties, body);
    } catch (err) {
      w.pos = mark;
      throw err;
    }
  }

  /**
   * Content header and body frames for `body` on `channel` (after its
   * method frame). Throws (having written nothing of the header) when the
   * properties cannot be encoded; the caller rolls back the method frame.
   */
  content(channel: number, properties: BasicPropertiesInit | undefined, body: Uint8Array): void {
    const w = this.w;
    const len = body.length;
    if (properties === undefined && len <= 0xffffffff) {
      // No properties: a fixed 14-byte header payload, written byte by byte.
      w.ensure(FRAME_HEADER_SIZE + 15);
      const b = w.buf;
      const at = w.pos;
      b[at] = FRAME_HEADER;
      b[at + 1] = channel >>> 8;
      b[at + 2] = channel & 0xff;
      b[at + 3] = 0;
      b[at + 4] = 0;
      b[at + 5] = 0;
      b[at + 6] = 14; // payload size
      b[at + 7] = 0;
      b[at + 8] = BASIC_CLASS;
      b[at + 9] = 0; // weight
      b[at + 10] = 0;
      b[at + 11] = 0; // body size: 64 bits, high word zero
      b[at + 12] = 0;
      b[at + 13] = 0;
      b[at + 14] = 0;
      b[at + 15] = len >>> 24;
      b[at + 16] = (len >>> 16) & 0xff;
      b[at + 17] = (len >>> 8) & 0xff;
      b[at + 18] = len & 0xff;
      b[at + 19] = 0; // property flags: none
      b[at + 20] = 0;
      b[at + 21] = FRAME_END;
      w.pos = at + 22;
    } else {
      const mark = this.begin(FRAME_HEADER, channel);
      w.u16(BASIC_CLASS);
      w.u16(0); // weight
      w.u64(len, 'content body size');
      encodeBasicProperties(w, properties);
      this.end(mark);
    }
    const max = this.maxPayload;
    for (let off = 0; off < len; off += max) {
      const n = Math.min(max, len - off);
      w.ensure(FRAME_HEADER_SIZE + 1);
      const b = w.buf;
      const at = w.pos;
      b[at] = FRAME_BODY;
      b.writeUInt16BE(channel, at + 1);
      b.writeUInt32BE(n, at + 3);
      w.pos = at + FRAME_HEADER_SIZE;
      if (n >= LARGE_BODY) {
        this.cut();
        this.chunks.push(off === 0 && n === len ? body : body.subarray(off, off + n));
      } else {
        w.bytes(n === len ? body : body.subarray(off, off + n));
      }
      w.u8(FRAME_END);
    }
    this.schedule();
  }

  /**
   * A basic.ack for `tag` alone. `widenable`: every tag below it on this
   * channel is settled, so a later in-order ack may widen this frame.
   */
  ack(channel: number, tag: number, widenable: boolean): void {
    const mark = this.begin(FRAME_METHOD, channel);
    encodeBasicAck(this.w, { deliveryTag: tag, multiple: false });
    this.end(mark);
    if (widenable) {
      this.ackAt = mark;
      this.ackChannel = channel;
      this.ackTag = tag;
    }
  }

  /**
   * Turn the unsent ack that is the last frame written into
   * `basic.ack(tag, multiple)`, instead of writing another ack. The caller
   * guarantees that `tag` is the oldest tag still outstanding on the
   * channel, so the wider ack settles exactly what the separate acks
   * would have. Returns false, changing nothing, when the last frame is
   * not such an ack (another frame followed it, or it was flushed).
   */
  widenAck(channel: number, tag: number): boolean {
    const at = this.ackAt;
    if (at < 0 || channel !== this.ackChannel || tag <= this.ackTag || at < this.start || this.w.pos !== at + ACK_FRAME_SIZE) {
      return false;
    }
    const b = this.w.buf;
    b.writeUInt32BE(Math.floor(tag / 0x100000000), at + ACK_TAG_OFFSET);
    b.writeUInt32BE(tag >>> 0, at + ACK_TAG_OFFSET + 4);
    b[at + ACK_TAG_OFFSET + 8] = 1; // multiple
    this.ackTag = tag;
    return true;
  }

  heartbeat(): void {
    const mark = this.begin(FRAME_HEARTBEAT, 0);
    this.end(mark);
  }

  /**
   * Resolves when what was written so far has been handed to the transport
   * and its buffer is below the high-water mark. One promise per batch.
   */
  whenWritten(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.batch === null) {
      this.batch = waiter();
      // Shared by every publish of the batch; a caller that ignores it
      // (fire-and-forget publish) must not crash the process when the
      // connection dies: that failure also reaches onError.
      this.batch.promise.catch(() => undefined);
    }
    return this.batch.promise;
  }

  /** Write everything now (before destroying the socket, say). */
  flushNow(): void {
    if (this.scheduled) this.flush();
  }

  /** The transport has drained: release batches held by the high-water mark. */
  drained(): void {
    const list = this.draining;
    if (list.length === 0) return;
    this.draining = [];
    for (const x of list) x.resolve();
  }

  /** The connection is gone: reject every waiter, drop unsent frames, write nothing more. */
  fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.ackAt = -1;
    this.chunks = [];
    this.retired = [];
    this.spare = [];
    // A fresh slab: the old one may still back chunks the socket has not sent.
    this.w.buf = Buffer.allocUnsafe(1024);
    this.start = this.w.pos = 0;
    const list = this.draining;
    this.draining = [];
    if (this.batch !== null) list.push(this.batch);
    this.batch = null;
    for (const x of list) x.reject(err);
  }

  /**
   * Continue in a fresh slab when `need` bytes do not fit in this one:
   * growing it would copy everything written this turn into new memory
   * (a window of 4 KiB publishes is megabytes). An estimate is enough:
   * the Writer still grows if a frame turns out bigger.
   */
  private reserve(need: number): void {
    const w = this.w;
    if (w.pos + need <= w.buf.length) return;
    this.cut();
    this.retire(w.buf);
    w.buf = need <= SLAB_SIZE ? this.freshSlab() : Buffer.allocUnsafe(need);
    w.pos = this.start = 0;
  }

  /** A slab whose bytes all went into chunks of this batch. */
  private retire(slab: Buffer): void {
    if (slab.length === SLAB_SIZE) this.retired.push(slab);
  }

  private freshSlab(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(SLAB_SIZE);
  }

  /** The transport is done with a batch: its retired slabs can be written over. */
  private reuse(slabs: Buffer[]): void {
    if (this.failure !== null) return;
    for (const slab of slabs) if (this.spare.length < MAX_SPARE_SLABS) this.spare.push(slab);
  }

  /** Move the pooled bytes written since the last cut into the chunk list. */
  private cut(): void {
    this.ackAt = -1;
    const w = this.w;
    if (w.pos > this.start) {
      this.chunks.push(w.buf.subarray(this.start, w.pos));
      this.start = w.pos;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    if (!this.scheduled) return;
    this.scheduled = false;
    if (this.failure !== null) return;
    this.cut();
    const chunks = this.chunks;
    this.chunks = [];
    const w = this.w;
    if (w.pos > SLAB_SIZE / 2 || w.buf.length > SLAB_SIZE) {
      this.retire(w.buf);
      w.buf = this.freshSlab();
      w.pos = this.start = 0;
    }
    const batch = this.batch;
    this.batch = null;
    this.lastFlush = Date.now();
    let below = true;
    const retired = this.retired;
    if (retired.length > 0) this.retired = [];
    if (chunks.length > 0) below = this.sink(chunks, retired.length === 0 ? undefined : () => this.reuse(retired));
    if (batch !== null) {
      if (below) batch.resolve();
      else this.draining.push(batch);
    }
  };
}
