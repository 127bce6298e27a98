// InboundRouter: what happens to each frame the FrameParser cuts from the
// socket. Method frames are decoded and go to the connection (channel 0)
// or to their channel; content methods, headers and bodies go to the
// channel's ContentAssembler, which hands the channel complete messages.
//
// basic.deliver, the hot path, has one decode path: its arguments are
// decoded straight into an Envelope (no generic method object), and a
// content header without properties is decoded by hand.

import { FrameError } from '../errors.js';
import { Reader } from '../wire/index.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from '../../generated/constants.js';
import { BasicProperties, decodeBasicProperties } from '../../generated/basic.js';
import { METHOD_INFO, decodeMethod, type IncomingMethod } from '../../generated/dispatch.js';
import { Envelope } from './envelope.js';
import type { ContentAssembler } from './content.js';
import type { BodySink, FrameHandler, BodyStartHandler } from './frame-parser.js';

/** What the router needs of a channel. */
export interface InboundChannel {
  readonly channelId: number;
  /** Assembles this channel's content methods, headers and bodies. */
  readonly content: ContentAssembler;
  /** A method frame that carries no content. */
  onMethod(m: IncomingMethod): void;
}

/** What the router needs of the connection. */
export interface InboundHost {
  /** 'open' routes channel frames; 'closing' drops them; 'closed' sends every frame to `onFrameAfterClose`. */
  connectionState(): string;
  readonly maxBodySize: number;
  channel(id: number): InboundChannel | undefined;
  /** Whether channel `id` was open and has been released: its late frames are dropped, not a protocol error. */
  wasReleased(id: number): boolean;
  onConnectionMethod(m: IncomingMethod): void;
  onFrameAfterClose(type: number, channel: number, buf: Buffer, start: number, end: number): void;
}

/**
 * Decode a basic.deliver's arguments (the reader is past the method id)
 * into an Envelope: the same checks and errors as the generated decoder.
 */
export function decodeDeliver(r: Reader): Envelope {
  const consumerTag = r.shortstr('basic.deliver.consumer-tag');
  const deliveryTag = r.u64('basic.deliver.delivery-tag');
  const bits0 = r.u8('basic.deliver.redelivered');
  if ((bits0 & 0xfe) !== 0) {
    throw new FrameError(`basic.deliver: invalid bit pattern 0x${bits0.toString(16)}`);
  }
  const exchange = r.shortstr('basic.deliver.exchange');
  const routingKey = r.shortstr('basic.deliver.routing-key');
  if (r.pos !== r.end) {
    throw new FrameError(`basic.deliver: ${r.end - r.pos} bytes left over after the arguments`);
  }
  return new Envelope(consumerTag, deliveryTag, exchange, routingKey, (bits0 & 1) !== 0);
}

/** Whether the method frame payload at `start` is basic.deliver (method id 0x003c003c). */
function isDeliver(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 4 && buf[start + 1] === 0x3c && buf[start + 3] === 0x3c && buf[start] === 0 && buf[start + 2] === 0;
}

export class InboundRouter {
  private readonly reader = new Reader();
  /** The channel (and its assembler) receiving a body frame streamed across socket chunks. */
  private streamChannel: InboundChannel | null = null;

  constructor(private readonly host: InboundHost) {}

  /** Each frame that lies whole in a socket chunk; its payload is `buf[start, end)`. */
  readonly onFrame: FrameHandler = (type, channel, buf, start, end) => {
    const host = this.host;
    if (host.connectionState() !== 'open' && this.dropped(type, channel, buf, start, end)) return;
    const r = this.reader;
    switch (type) {
      case FRAME_METHOD: {
        if (channel !== 0 && isDeliver(buf, start, end)) {
          // Decoded before the channel lookup, as decodeMethod does for every other method.
          const envelope = decodeDeliver(r.reset(buf, start + 4, end));
          const ch = this.channelFor(channel);
          if (ch === null) return;
          this.checkIdle(ch, 'basic.deliver');
          ch.content.startDelivery(envelope);
          return;
        }
        const m = decodeMethod(r.reset(buf, start, end));
        if (channel === 0) {
          host.onConnectionMethod(m);
          return;
        }
        const ch = this.channelFor(channel);
        if (ch === null) return;
        const info = METHOD_INFO[m.id];
        this.checkIdle(ch, info.name);
        if (info.hasContent) ch.content.start(m);
        else ch.onMethod(m);
        return;
      }
      case FRAME_HEADER: {
        if (channel === 0) throw new FrameError('content header on channel 0', 504);
        const ch = this.channelFor(channel);
        if (ch !== null) this.onHeader(ch, buf, start, end);
        return;
      }
      case FRAME_BODY:
        if (channel === 0) throw new FrameError('content body on channel 0', 504);
        this.channelFor(channel)?.content.bodyFrame(buf, start, end);
        return;
      default:
        return; // heartbeat: receiving anything already counts
    }
  };

  /**
   * A body frame split across socket chunks begins: its payload is
   * streamed into the channel's content assembler (the same checks as
   * `onFrame`).
   */
  readonly onBodyStart: BodyStartHandler = (channel, size) => {
    const state = this.host.connectionState();
    if (state === 'closed') return null;
    if (channel !== 0 && state !== 'open') {
      if (state === 'closing') return null;
      throw new FrameError(`frame for channel ${channel} before the connection is open`, 503);
    }
    if (channel === 0) throw new FrameError('content body on channel 0', 504);
    const ch = this.channelFor(channel);
    if (ch === null) return null;
    ch.content.bodyStart(size);
    this.streamChannel = ch;
    return this.bodyRelay;
  };

  /**
   * Between the streamed frame's header and its end the connection may
   * start closing: as for a frame that arrives whole, the frame then counts
   * only once complete, and is dropped unless the connection is still open
   * and the channel still the one the frame began on.
   */
  private readonly bodyRelay: BodySink = {
    bodyPart: (buf, start, end) => this.streamChannel!.content.bodyPart(buf, start, end),
    bodyEnd: () => {
      const ch = this.streamChannel!;
      this.streamChannel = null;
      if (this.host.connectionState() !== 'open') return;
      const now = this.channelFor(ch.channelId);
      if (now === null) return; // released meanwhile: the body is dropped
      if (now !== ch) {
        throw new FrameError(`channel ${ch.channelId}: content body without a content header`, 505);
      }
      ch.content.bodyEnd();
    },
  };

  /** Whether a frame that arrives while the connection is not open is dropped (throws when it is not allowed). */
  private dropped(type: number, channel: number, buf: Buffer, start: number, end: number): boolean {
    const state = this.host.connectionState();
    if (state === 'closed') {
      this.host.onFrameAfterClose(type, channel, buf, start, end);
      return true;
    }
    if (channel === 0) return false;
    if (state === 'closing') return true; // only close-ok matters now
    throw new FrameError(`frame for channel ${channel} before the connection is open`, 503);
  }

  private onHeader(ch: InboundChannel, buf: Buffer, start: number, end: number): void {
    const max = this.host.maxBodySize;
    if (end - start === 14 && buf[start + 12] === 0 && buf[start + 13] === 0 && buf[start + 4] === 0 && buf[start + 5]! <= 0x1f) {
      // The common case by hand: no properties (flags 0), a body size below 2^53.
      const size =
        ((buf[start + 5]! << 16) | (buf[start + 6]! << 8) | buf[start + 7]!) * 0x1_0000_0000 +
        (buf[start + 8]! * 0x1000000 + ((buf[start + 9]! << 16) | (buf[start + 10]! << 8) | buf[start + 11]!));
      if (size > max) throw this.tooLarge(ch, size);
      ch.content.header((buf[start]! << 8) | buf[start + 1]!, size, new BasicProperties());
      return;
    }
    const r = this.reader.reset(buf, start, end);
    const classId = r.u16('content header class-id');
    r.u16('content header weight');
    const size = r.u64('content header body-size');
    if (size > max) throw this.tooLarge(ch, size);
    const props = decodeBasicProperties(r);
    if (r.pos !== end) throw new FrameError(`channel ${ch.channelId}: ${end - r.pos} bytes after the content header properties`);
    ch.content.header(classId, size, props);
  }

  private tooLarge(ch: InboundChannel, size: number): FrameError {
    return new FrameError(`channel ${ch.channelId}: body of ${size} bytes exceeds maxBodySize ${this.host.maxBodySize}`);
  }

  /** A method may not arrive while a content header or body is due on its channel. */
  private checkIdle(ch: InboundChannel, name: string): void {
    if (ch.content.busy) {
      throw new FrameError(`channel ${ch.channelId}: ${name} arrived while a content body was expected`, 505);
    }
  }

  /** The frame's channel; null for a released channel (a late frame, dropped); 504 for a channel never opened. */
  private channelFor(id: number): InboundChannel | null {
    const ch = this.host.channel(id);
    if (ch !== undefined) return ch;
    if (this.host.wasReleased(id)) return null;
    throw new FrameError(`frame for channel ${id}, which is not open`, 504);
  }
}
