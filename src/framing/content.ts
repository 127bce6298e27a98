// ContentAssembler: puts one channel's incoming message back together from
// its method frame, content header and body frames (frames of other
// channels may come in between). A body that arrives in one frame is
// handed over as a view of the received bytes, not a copy; a longer one is
// copied into one buffer sized from the (already checked) header. A body
// frame split across socket chunks is streamed in (`bodyStart`, `bodyPart`,
// `bodyEnd`, driven by the FrameParser), so each of its bytes is copied
// once, straight into that buffer.
//
// basic.deliver, the hot path, has no generic method object: the inbound
// router decodes it straight into an Envelope (`startDelivery`).

import { FrameError } from '../errors.js';
import type { Envelope } from './envelope.js';
import type { BodySink } from './frame-parser.js';
import type { BasicProperties } from '../../generated/basic.js';
import { METHOD_INFO, type IncomingMethod } from '../../generated/dispatch.js';

const EMPTY_BODY = Buffer.alloc(0);
const BASIC_CLASS = 60;

/** Where a channel's complete messages go. */
export interface ContentTarget {
  /** A complete basic.deliver. */
  onDelivery(envelope: Envelope, properties: BasicProperties, body: Buffer): void;
  /** A complete basic.return or basic.get-ok. */
  onContent(method: IncomingMethod, properties: BasicProperties, body: Buffer): void;
}

export class ContentAssembler implements BodySink {
  private method: IncomingMethod | null = null;
  /** The basic.deliver being assembled (instead of `method`). */
  private envelope: Envelope | null = null;
  private properties: BasicProperties | null = null;
  private size = 0;
  private fill = 0;
  private body: Buffer | null = null;

  constructor(
    private readonly channelId: number,
    private readonly target: ContentTarget,
  ) {}

  /** A content method arrived and its header and body are still due. */
  get busy(): boolean {
    return this.method !== null || this.envelope !== null;
  }

  /** Start a message: `m` carries content (return, get-ok). */
  start(m: IncomingMethod): void {
    this.method = m;
    this.envelope = null;
    this.properties = null;
  }

  /** Start a basic.deliver message (completes through `onDelivery`). */
  startDelivery(e: Envelope): void {
    this.envelope = e;
    this.method = null;
    this.properties = null;
  }

  /** The content header; completes the message when the body is empty. */
  header(classId: number, bodySize: number, properties: BasicProperties): void {
    if (this.properties !== null || !this.busy) {
      throw new FrameError(`channel ${this.channelId}: content header without a content method`, 505);
    }
    const m = this.method;
    if (m === null ? classId !== BASIC_CLASS : classId !== METHOD_INFO[m.id].classId) {
      const name = m === null ? 'basic.deliver' : METHOD_INFO[m.id].name;
      throw new FrameError(`channel ${this.channelId}: content header of class ${classId} after ${name}`, 505);
    }
    this.properties = properties;
    this.size = bodySize;
    this.fill = 0;
    if (bodySize === 0) this.done(EMPTY_BODY);
  }

  /** A body frame, `buf[start, end)`; completes the message with its last byte. */
  bodyFrame(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    this.checkBody(n);
    if (this.fill === 0 && n === this.size) {
      this.done(buf.subarray(start, end));
      return;
    }
    if (this.body === null) this.body = Buffer.allocUnsafe(this.size);
    buf.copy(this.body, this.fill, start, end);
    this.fill += n;
    if (this.fill < this.size) return;
    const body = this.body;
    this.body = null;
    this.done(body);
  }

  /** A body frame of `n` payload bytes begins and will be streamed in. */
  bodyStart(n: number): void {
    this.checkBody(n);
    if (this.body === null) this.body = Buffer.allocUnsafe(this.size);
  }

  /** The next piece of the streamed body frame. */
  bodyPart(buf: Buffer, start: number, end: number): void {
    const body = this.body;
    if (body === null) return; // reset while the frame was streaming
    buf.copy(body, this.fill, start, end);
    this.fill += end - start;
  }

  /** The streamed body frame is complete and its frame-end checked. */
  bodyEnd(): void {
    const body = this.body;
    if (body === null || this.fill < this.size) return;
    this.body = null;
    this.done(body);
  }

  /** Forget a half-assembled message (the channel closed). */
  reset(): void {
    this.method = null;
    this.envelope = null;
    this.properties = null;
    this.body = null;
  }

  private checkBody(n: number): void {
    if (this.properties === null) {
      throw new FrameError(`channel ${this.channelId}: content body without a content header`, 505);
    }
    if (this.fill + n > this.size) {
      throw new FrameError(`channel ${this.channelId}: content body longer than the ${this.size} bytes its header announced`, 505);
    }
  }

  private done(body: Buffer): void {
    const properties = this.properties!;
    const e = this.envelope;
    this.properties = null;
    if (e !== null) {
      this.envelope = null;
      this.target.onDelivery(e, properties, body);
      return;
    }
    const method = this.method!;
    this.method = null;
    this.target.onContent(method, properties, body);
  }
}
