// The ack fast path. A consumer that acks each message in delivery order
// would send one basic.ack frame per message; when the last frame in the
// unsent buffer is this channel's previous such ack, it is rewritten in
// place into basic.ack(tag, multiple) instead. The caller (the channel's
// ack bookkeeping) guarantees that is exact: every older tag is settled.

import { encodeBasicAck } from '../../generated/basic.js';
import { FRAME_HEADER_SIZE } from './frame-parser.js';
import type { FrameWriter } from './frame-writer.js';

/** basic.ack frame: header, class and method ids, 64-bit tag, bits, frame-end. */
const ACK_FRAME_SIZE = FRAME_HEADER_SIZE + 4 + 8 + 1 + 1;
const ACK_TAG_OFFSET = FRAME_HEADER_SIZE + 4;

export class AckFrames {
  /** Where the last widenable ack starts in the pooled buffer, or -1. */
  private at = -1;
  /** The FrameWriter epoch it was written in: a cut puts it out of reach. */
  private epoch = -1;
  private channel = 0;
  private tag = 0;

  constructor(private readonly fw: FrameWriter) {}

  /** A basic.ack that no later ack widens. */
  ack(channel: number, tag: number, multiple: boolean): void {
    const fw = this.fw;
    const mark = fw.method(channel);
    encodeBasicAck(fw.w, { deliveryTag: tag, multiple });
    fw.end(mark);
  }

  /**
   * A basic.ack for `tag` alone, where every tag below it on this channel
   * is settled: a later in-order ack may widen this frame.
   */
  ackWidenable(channel: number, tag: number): void {
    const fw = this.fw;
    const mark = fw.w.pos;
    this.ack(channel, tag, false);
    this.at = mark;
    this.epoch = fw.epoch;
    this.channel = channel;
    this.tag = tag;
  }

  /**
   * Turn the unsent ack that is the last frame written into
   * `basic.ack(tag, multiple)`, instead of writing another ack. The caller
   * guarantees that `tag` is the oldest tag still outstanding on the
   * channel, so the wider ack settles exactly what the separate acks
   * would have. Returns false, changing nothing, when the last frame is
   * not such an ack (another frame followed it, or it was flushed).
   */
  widen(channel: number, tag: number): boolean {
    const at = this.at;
    const fw = this.fw;
    if (at < 0 || this.epoch !== fw.epoch || channel !== this.channel || tag <= this.tag || fw.w.pos !== at + ACK_FRAME_SIZE) {
      return false;
    }
    const b = fw.w.buf;
    b.writeUInt32BE(Math.floor(tag / 0x100000000), at + ACK_TAG_OFFSET);
    b.writeUInt32BE(tag >>> 0, at + ACK_TAG_OFFSET + 4);
    b[at + ACK_TAG_OFFSET + 8] = 1; // multiple
    this.tag = tag;
    return true;
  }
}
