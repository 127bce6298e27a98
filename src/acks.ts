// DeliveryAcks: the acks, nacks and rejects of one channel. It knows the
// delivery tags the channel handed out: a tag above any of them cannot be
// ours (the broker would close the channel with 406), and acks made in
// delivery order go out as one basic.ack(multiple) (ack-frames.ts).
// Across recoveries the tags the user sees keep growing: each new link's
// broker tags are shifted by `base` (the highest tag shown before), and a
// tag at or below `base` belongs to a dead link: settling it does nothing.

import { encodeBasicNack, encodeBasicReject } from '../generated/basic.js';
import type { AckFrames } from './framing/ack-frames.js';
import type { FrameWriter } from './framing/frame-writer.js';
import { UnackedTags } from './unacked.js';

function checkTag(deliveryTag: unknown, what: string): number {
  if (typeof deliveryTag !== 'number' || !Number.isSafeInteger(deliveryTag) || deliveryTag < 0) {
    throw new TypeError(`${what}: deliveryTag must be an integer 0..2^53-1, got ${String(deliveryTag)}`);
  }
  return deliveryTag;
}

export class DeliveryAcks {
  /** Highest delivery tag handed to the user (deliver, get-ok): acks above it cannot be ours. */
  private lastTag = 0;
  /** The user's tag = the broker's + base; tags up to base were delivered on a link that is gone. */
  base = 0;
  /** The link is down: settling is a no-op (the broker requeues what was unacked). */
  private down = false;
  /** Delivered tags still to be acked, nacked or rejected (lets in-order acks share one frame). */
  private readonly unacked = new UnackedTags();

  constructor(
    private readonly channelId: number,
    private readonly fw: FrameWriter,
    private readonly frames: AckFrames,
  ) {}

  /** A message with the user's `tag` was delivered; `needsAck` unless it came with noAck. */
  delivered(tag: number, needsAck: boolean): void {
    if (tag > this.lastTag) this.lastTag = tag;
    if (needsAck) this.unacked.push(tag);
  }

  /** The link is gone: nothing can be settled until the channel is open again on a new one. */
  linkDown(): void {
    this.down = true;
    this.unacked.reset();
  }

  /** The channel is open on a new link: its broker tags start again at 1, after every tag shown so far. */
  linkUp(): void {
    this.down = false;
    this.base = this.lastTag;
    this.unacked.reset();
  }

  /** Whether settling the user's `tag` must be skipped: the link is down, or the tag came before it. */
  stale(tag: number): boolean {
    return this.down || (this.base !== 0 && tag <= this.base && tag !== 0);
  }

  /** The tag as a number, or a `TypeError` (thrown before anything is written) for one that is not a tag. */
  checkType(what: string, deliveryTag: unknown): number {
    return checkTag(deliveryTag, what);
  }

  /**
   * `tag`, or a `TypeError` when it is above any tag this channel has
   * delivered: it cannot be ours (tags are per channel), and the broker
   * would close the channel with 406. A foreign tag at or below that
   * cannot be told apart without tracking every unacked tag, which this
   * does not do.
   */
  check(what: string, tag: number): number {
    if (tag > this.lastTag) {
      throw new TypeError(
        `${what}: delivery tag ${tag} was never delivered on channel ${this.channelId} (highest so far: ${this.lastTag})`,
      );
    }
    return tag;
  }

  /**
   * Ack a delivery. Acks made in delivery order within one event-loop turn
   * reach the broker as a single `basic.ack(multiple)` covering exactly
   * the same messages.
   */
  ack(tag: number, multiple: boolean): void {
    if (this.stale(tag)) return;
    const unacked = this.unacked;
    const wire = tag === 0 ? 0 : tag - this.base;
    if (multiple) {
      unacked.settleUpTo(tag);
      this.frames.ack(this.channelId, wire, true);
      return;
    }
    if (tag !== 0 && unacked.oldest() === tag) {
      unacked.shift();
      if (!this.frames.widen(this.channelId, wire)) this.frames.ackWidenable(this.channelId, wire);
      return;
    }
    // Out of order, or not outstanding (the broker will say so): an ack of its own.
    unacked.settle(tag);
    this.frames.ack(this.channelId, wire, false);
  }

  nack(tag: number, multiple: boolean, requeue: boolean): void {
    if (this.stale(tag)) return;
    if (multiple) this.unacked.settleUpTo(tag);
    else this.unacked.settle(tag);
    this.fw.writeMethod(this.channelId, encodeBasicNack, { deliveryTag: tag === 0 ? 0 : tag - this.base, multiple, requeue });
  }

  reject(tag: number, requeue: boolean): void {
    if (this.stale(tag)) return;
    this.unacked.settle(tag);
    this.fw.writeMethod(this.channelId, encodeBasicReject, { deliveryTag: tag - this.base, requeue });
  }

  /** Whether `tag` was delivered for acking and is still unsettled (a stale tag never is). */
  outstanding(tag: number): boolean {
    return !this.stale(tag) && this.unacked.has(tag);
  }

  /** Every unacked delivery is void (basic.recover redelivers under new tags, or the channel ended). */
  reset(): void {
    this.unacked.reset();
  }
}
