// FrameWriter: encodes outgoing frames into one pooled buffer and hands
// them to the transport once per event-loop turn, so a burst of publishes
// or acks costs one write. Bytes already handed to the transport are never
// overwritten: after a flush, writing continues past them, and a fresh slab
// replaces a filled one. This is the generic part; the publish and ack fast
// paths (publish-frames.ts, ack-frames.ts) write through it.

import { Writer } from '../wire/index.js';
import { FRAME_END, FRAME_HEARTBEAT, FRAME_METHOD } from '../../generated/constants.js';
import { FRAME_HEADER_SIZE } from './frame-parser.js';

const SLAB_SIZE = 64 * 1024;
/** The writer's first buffer: enough for the handshake and a few frames. */
const FIRST_BUFFER_SIZE = 4 * 1024;
/**
 * Written-out slabs kept for reuse, at most (16 MiB): fresh memory costs a
 * page fault per 4 KiB on first touch, which for a window of 4 KiB
 * publishes cost more than copying the bodies. The pool shrinks back to
 * MIN_SPARE_SLABS at the first frame after a quiet second (trimSpare).
 */
const MAX_SPARE_SLABS = 256;
const MIN_SPARE_SLABS = 4;
const QUIET_MS = 1000;
/**
 * A burst that has filled this much goes to the transport at once, before
 * the end of the turn: one write of megabytes (a window of 4 KiB publishes)
 * mostly fails with EAGAIN and costs the kernel more than writes of a few
 * hundred KiB, and the slabs come back for reuse sooner.
 */
const EARLY_WRITE_BYTES = 4 * SLAB_SIZE;

/** A generated method encoder: `encodeQueueDeclare`, or `encodeChannelCloseOk` (no arguments). */
export type MethodEncoder<T> = (w: Writer, args: T) => void;

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
  /**
   * The pooled buffer; generated encoders write into it between begin() and
   * end(). It starts small (an idle connection or the handshake need little)
   * and moves to full slabs on the first burst (reserve()).
   */
  readonly w = new Writer(FIRST_BUFFER_SIZE);
  /** Largest payload per frame: negotiated frame-max − 8. */
  maxPayload = 4096 - 8;
  /** Milliseconds timestamp of the last flush (for heartbeats). */
  lastFlush = 0;

  private start = 0;
  private chunks: Uint8Array[] = [];
  /** Bytes in `chunks`. */
  private pending = 0;
  /** An early write of this turn found the transport above its high-water mark. */
  private earlyFull = false;
  private scheduled = false;
  private failure: Error | null = null;
  /** Waiters for the batch not yet flushed. */
  private batch: Waiter | null = null;
  /** Waiters of flushed batches held back by the transport's high-water mark. */
  private draining: Waiter[] = [];
  /**
   * Counts cuts: pooled bytes before a cut are out of reach (handed to the
   * chunk list, or in a slab that was replaced), so a frame written in an
   * earlier epoch can no longer be rewritten in place (see AckFrames).
   */
  epoch = 0;
  /** Slabs filled during this batch: reusable once the batch is written. */
  private retired: Buffer[] = [];
  private spare: Buffer[] = [];

  constructor(private readonly sink: FrameSink) {}

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
   * One method frame on `channel`. Throws `TypeError`, having written
   * nothing, when an argument cannot be encoded.
   */
  writeMethod<T>(channel: number, encode: MethodEncoder<T>, args: T): void {
    const mark = this.begin(FRAME_METHOD, channel);
    try {
      encode(this.w, args);
      this.end(mark);
    } catch (err) {
      this.w.pos = mark;
      throw err;
    }
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
    this.epoch++;
    this.chunks = [];
    this.pending = 0;
    this.earlyFull = false;
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

  /** A new link (recovery): writing works again after fail(). */
  restart(): void {
    this.failure = null;
    this.scheduled = false;
  }

  /**
   * Continue in a fresh slab when `need` bytes do not fit in this one:
   * growing it would copy everything written this turn into new memory
   * (a window of 4 KiB publishes is megabytes). An estimate is enough:
   * the Writer still grows if a frame turns out bigger.
   */
  reserve(need: number): void {
    const w = this.w;
    if (w.pos + need <= w.buf.length) return;
    this.cut();
    this.retire(w.buf);
    if (this.pending >= EARLY_WRITE_BYTES) this.writeEarly();
    w.buf = need <= SLAB_SIZE ? this.freshSlab() : Buffer.allocUnsafe(need);
    w.pos = this.start = 0;
  }

  /** Hand what this turn cut so far to the transport now (at a frame boundary); the batch still settles at the flush. */
  private writeEarly(): void {
    if (this.failure !== null) return;
    if (this.handOver() === false) this.earlyFull = true;
  }

  /**
   * Give the cut chunks to the transport, with the slabs it may hand back
   * once they are written; returns whether it is below its high-water
   * mark, or null when there was nothing to write.
   */
  private handOver(): boolean | null {
    const chunks = this.chunks;
    this.chunks = [];
    this.pending = 0;
    const retired = this.retired;
    if (retired.length > 0) this.retired = [];
    this.lastFlush = Date.now();
    if (chunks.length === 0) return null;
    return this.sink(chunks, retired.length === 0 ? undefined : () => this.reuse(retired));
  }

  /** A slab whose bytes all went into chunks of this batch. */
  private retire(slab: Buffer): void {
    if (slab.length === SLAB_SIZE) this.retired.push(slab);
  }

  private freshSlab(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(SLAB_SIZE);
  }

  /**
   * At a turn's first frame: a writer that had been quiet for a second lets
   * the pool go down to a few slabs (a past burst does not keep its
   * megabytes; a heartbeat is such a frame); a busy one keeps them for the
   * next burst.
   */
  private trimSpare(now: number): void {
    if (now - this.lastFlush >= QUIET_MS && this.spare.length > MIN_SPARE_SLABS) this.spare.length = MIN_SPARE_SLABS;
  }

  /** The transport is done with a batch: its retired slabs can be written over. */
  private reuse(slabs: Buffer[]): void {
    if (this.failure !== null) return;
    for (const slab of slabs) if (this.spare.length < MAX_SPARE_SLABS) this.spare.push(slab);
  }

  /**
   * A chunk that goes to the transport as it is, after everything written
   * so far: a large body slice, sent without copying it.
   */
  pushUncopied(chunk: Uint8Array): void {
    this.cut();
    this.chunks.push(chunk);
    this.pending += chunk.length;
  }

  /** Move the pooled bytes written since the last cut into the chunk list. */
  private cut(): void {
    this.epoch++;
    const w = this.w;
    if (w.pos > this.start) {
      this.chunks.push(w.buf.subarray(this.start, w.pos));
      this.pending += w.pos - this.start;
      this.start = w.pos;
    }
  }

  /** Flush at the end of this event-loop turn. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.trimSpare(Date.now());
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    if (!this.scheduled) return;
    this.scheduled = false;
    if (this.failure !== null) return;
    this.cut();
    const w = this.w;
    if (w.pos > SLAB_SIZE / 2 || w.buf.length > SLAB_SIZE) {
      this.retire(w.buf);
      w.buf = this.freshSlab();
      w.pos = this.start = 0;
    }
    const batch = this.batch;
    this.batch = null;
    // With nothing left to write, an early write's answer stands.
    const below = this.handOver() ?? !this.earlyFull;
    this.earlyFull = false;
    if (batch !== null) {
      if (below) batch.resolve();
      else this.draining.push(batch);
    }
  };
}
