// ContentAssembler: puts one channel's incoming message back together from
// its method frame, content header and body frames (frames of other
// channels may come in between). A body that arrives in one frame is
// handed over as a view of the received bytes, not a copy; a longer one is
// copied into one buffer sized from the (already checked) header.

import { FrameError } from '../errors.js';
import { METHOD_INFO, type BasicProperties, type IncomingMethod } from '../../generated/index.js';

const EMPTY_BODY = Buffer.alloc(0);

/** Receives each complete message. */
export type ContentHandler = (method: IncomingMethod, properties: BasicProperties, body: Buffer) => void;

export class ContentAssembler {
  private method: IncomingMethod | null = null;
  private properties: BasicProperties | null = null;
  private size = 0;
  private fill = 0;
  private body: Buffer | null = null;

  constructor(
    private readonly channelId: number,
    private readonly onContent: ContentHandler,
  ) {}

  /** A content method arrived and its header and body are still due. */
  get busy(): boolean {
    return this.method !== null;
  }

  /** Start a message: `m` carries content (deliver, return, get-ok). */
  start(m: IncomingMethod): void {
    this.method = m;
    this.properties = null;
  }

  /** The content header; completes the message when the body is empty. */
  header(classId: number, bodySize: number, properties: BasicProperties): void {
    const m = this.method;
    if (m === null || this.properties !== null) {
      throw new FrameError(`channel ${this.channelId}: content header without a content method`, 505);
    }
    if (classId !== METHOD_INFO[m.id].classId) {
      throw new FrameError(`channel ${this.channelId}: content header of class ${classId} after ${METHOD_INFO[m.id].name}`, 505);
    }
    this.properties = properties;
    this.size = bodySize;
    this.fill = 0;
    if (bodySize === 0) this.done(EMPTY_BODY);
  }

  /** A body frame, `buf[start, end)`; completes the message with its last byte. */
  bodyFrame(buf: Buffer, start: number, end: number): void {
    if (this.properties === null) {
      throw new FrameError(`channel ${this.channelId}: content body without a content header`, 505);
    }
    const n = end - start;
    if (this.fill + n > this.size) {
      throw new FrameError(`channel ${this.channelId}: content body longer than the ${this.size} bytes its header announced`, 505);
    }
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

  /** Forget a half-assembled message (the channel closed). */
  reset(): void {
    this.method = null;
    this.properties = null;
    this.body = null;
  }

  private done(body: Buffer): void {
    const method = this.method!;
    const properties = this.properties!;
    this.method = null;
    this.properties = null;
    this.onContent(method, properties, body);
  }
}
