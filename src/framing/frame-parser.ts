// FrameParser: cuts the byte stream from the socket into AMQP frames.
//
// A frame that lies wholly inside one socket chunk is handed over in place
// (the chunk, start and end of its payload). A body frame split across
// chunks is streamed: its payload goes piece by piece to the sink the
// `onBodyStart` hook returns (the channel's content assembler, which copies
// each piece once, into the message buffer), and the sink hears `bodyEnd()`
// once the frame-end octet has arrived and was checked. Any other frame
// split across chunks is copied into one buffer sized from its header after
// the header was checked against frame-max. Nothing is allocated from an
// untrusted length before that check, and chunks are never concatenated.

import { FrameError } from '../errors.js';
import { describeForeignPeer } from './peer-sniff.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE } from '../../generated/constants.js';

/** type (1) + channel (2) + size (4). */
export const FRAME_HEADER_SIZE = 7;
/** Header plus frame-end octet: what a frame costs beyond its payload. */
export const FRAME_OVERHEAD = 8;

/** Receives each complete frame; its payload is `buf[start, end)`. */
export type FrameHandler = (type: number, channel: number, buf: Buffer, start: number, end: number) => void;

/** Where the payload of a body frame split across chunks goes. */
export interface BodySink {
  /** `buf[start, end)` is the next piece of the frame's payload. */
  bodyPart(buf: Buffer, start: number, end: number): void;
  /** The whole payload was handed over and the frame-end octet checked. */
  bodyEnd(): void;
}

/**
 * A body frame of `size` payload bytes on `channel` begins and does not lie
 * in one chunk: return the sink for its payload, or null to skip it.
 */
export type BodyStartHandler = (channel: number, size: number) => BodySink | null;

export class FrameParser {
  /** Largest payload accepted: the negotiated frame-max − 8 (spec minimum until tuned). */
  maxPayload = FRAME_MIN_SIZE - FRAME_OVERHEAD;

  private readonly head = Buffer.alloc(FRAME_HEADER_SIZE);
  private headFill = 0;
  /** The frame being assembled across chunks: payload + frame-end octet. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  private partialType = 0;
  private partialChannel = 0;
  private sawFirstFrame = false;
  /** Payload bytes of the streamed body frame still due (-1: none streaming). */
  private bodyLeft = -1;
  private bodySink: BodySink | null = null;
  private bodyChannel = 0;

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly onBodyStart: BodyStartHandler | null = null,
  ) {}

  /** Forget any half-read frame (after a frame error, to look for close-ok). */
  resync(): void {
    this.partial = null;
    this.headFill = 0;
    this.bodyLeft = -1;
    this.bodySink = null;
  }

  /** Feed one chunk from the socket. Throws `FrameError` on invalid bytes. */
  push(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      if (this.bodyLeft >= 0) {
        const left = this.bodyLeft;
        if (left > 0) {
          const n = Math.min(left, len - pos);
          this.bodyLeft = left - n;
          const sink = this.bodySink;
          pos += n;
          if (sink !== null) sink.bodyPart(chunk, pos - n, pos);
          continue;
        }
        // The frame-end octet.
        const sink = this.bodySink;
        this.bodyLeft = -1;
        this.bodySink = null;
        const fe = chunk[pos++]!;
        if (fe !== FRAME_END) this.badFrameEnd(FRAME_BODY, this.bodyChannel, fe);
        if (sink !== null) sink.bodyEnd();
        continue;
      }
      const partial = this.partial;
      if (partial !== null) {
        const n = Math.min(partial.length - this.partialFill, len - pos);
        chunk.copy(partial, this.partialFill, pos, pos + n);
        this.partialFill += n;
        pos += n;
        if (this.partialFill < partial.length) return;
        this.partial = null;
        this.deliver(this.partialType, this.partialChannel, partial, 0, partial.length - 1);
        continue;
      }
      let type: number;
      let channel: number;
      let size: number;
      if (this.headFill === 0 && len - pos >= FRAME_HEADER_SIZE) {
        type = chunk[pos]!;
        channel = (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
        size = chunk[pos + 3]! * 0x1000000 + ((chunk[pos + 4]! << 16) | (chunk[pos + 5]! << 8) | chunk[pos + 6]!);
        // The common case inline: a method, header or body frame within frame-max.
        if (type > FRAME_BODY || type < FRAME_METHOD || size > this.maxPayload || !this.sawFirstFrame) {
          this.checkHeader(type, channel, size, chunk, pos, len);
        }
        pos += FRAME_HEADER_SIZE;
        if (len - pos > size) {
          // Payload and frame-end are in this chunk: hand over in place.
          const end = pos + size;
          pos = end + 1;
          if (chunk[end] !== FRAME_END) this.badFrameEnd(type, channel, chunk[end]!);
          this.onFrame(type, channel, chunk, end - size, end);
          continue;
        }
      } else {
        const n = Math.min(FRAME_HEADER_SIZE - this.headFill, len - pos);
        chunk.copy(this.head, this.headFill, pos, pos + n);
        this.headFill += n;
        pos += n;
        if (this.headFill < FRAME_HEADER_SIZE) return;
        this.headFill = 0;
        const h = this.head;
        type = h[0]!;
        channel = h.readUInt16BE(1);
        size = h.readUInt32BE(3);
        this.checkHeader(type, channel, size, h, 0, FRAME_HEADER_SIZE);
      }
      if (len - pos > size) {
        // Payload and frame-end are in this chunk: hand over in place.
        const end = pos + size;
        pos = end + 1;
        this.deliver(type, channel, chunk, end - size, end);
      } else if (type === FRAME_BODY && this.onBodyStart !== null) {
        // Stream the payload to its channel instead of copying the frame.
        this.bodyChannel = channel;
        this.bodySink = this.onBodyStart(channel, size);
        this.bodyLeft = size;
      } else {
        const p = Buffer.allocUnsafe(size + 1);
        const n = len - pos;
        chunk.copy(p, 0, pos, len);
        pos = len;
        this.partial = p;
        this.partialFill = n;
        this.partialType = type;
        this.partialChannel = channel;
      }
    }
  }

  private checkHeader(type: number, channel: number, size: number, buf: Buffer, at: number, end: number): void {
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
      if (!this.sawFirstFrame) throw new FrameError(`${describeForeignPeer(buf, at, end)} (unknown frame type ${type})`);
      throw new FrameError(`unknown frame type ${type}`);
    }
    this.sawFirstFrame = true;
    if (size > this.maxPayload) {
      throw new FrameError(`frame of ${size} bytes on channel ${channel} exceeds frame-max ${this.maxPayload + FRAME_OVERHEAD}`);
    }
    if (type === FRAME_HEARTBEAT && (channel !== 0 || size !== 0)) {
      throw new FrameError(`heartbeat frame on channel ${channel} with ${size} payload bytes`);
    }
  }

  private deliver(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    const fe = buf[end];
    if (fe !== FRAME_END) this.badFrameEnd(type, channel, fe ?? 0);
    this.onFrame(type, channel, buf, start, end);
  }

  private badFrameEnd(type: number, channel: number, fe: number): never {
    throw new FrameError(`frame-end octet 0x${fe.toString(16)} instead of 0xce (frame type ${type}, channel ${channel})`);
  }
}
