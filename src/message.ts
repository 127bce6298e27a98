// Message: one delivery handed out by a `Consumer` iterator, with the
// means to settle it. Each message is settled at most once: a second
// ack/nack/reject throws TypeError before anything is sent; with noAck
// they are no-ops. On a closed channel they throw as basicClientAck does.

import type { BasicProperties } from '../generated/basic.js';
import type { Envelope } from './framing/envelope.js';
import { streamOffsetOf } from './stream-offset.js';

/** @internal How a message reaches its channel's acks (the channel's own checks: closed channel, bad tag). */
export interface MessageSettler {
  readonly noAck: boolean;
  ack(deliveryTag: number): void;
  nack(deliveryTag: number, requeue: boolean): void;
  reject(deliveryTag: number, requeue: boolean): void;
}

/** One delivery from a `Consumer` iterator (`channel.consume()`), with `ack()`, `nack()` and `reject()` to settle it once. */
export class Message {
  /** @internal Settled by ack/nack/reject (or by the library with settle: 'auto'). */
  settled = false;

  /** @internal */
  constructor(
    /** The message body. */
    readonly body: Buffer,
    /** Delivery details: consumer and delivery tag, exchange, routing key, redelivered. */
    readonly envelope: Envelope,
    /** The message properties (headers, content type...). */
    readonly properties: BasicProperties,
    private readonly settler: MessageSettler,
  ) {}

  /** The message's offset in a stream queue (its `x-stream-offset` header): a number, a bigint past 2^53; else undefined. */
  get streamOffset(): number | bigint | undefined {
    return streamOffsetOf(this.properties);
  }

  /** Ack this message (basic.ack); a no-op with noAck. */
  ack(): void {
    if (!this.settleable('ack')) return;
    this.settler.ack(this.envelope.deliveryTag);
    this.settled = true;
  }

  /** Nack this message (basic.nack); `requeue` defaults to true. A no-op with noAck. */
  nack(o: { requeue?: boolean } = {}): void {
    if (!this.settleable('nack')) return;
    this.settler.nack(this.envelope.deliveryTag, o.requeue ?? true);
    this.settled = true;
  }

  /** Reject this message (basic.reject); `requeue` defaults to false (as basicReject). A no-op with noAck. */
  reject(o: { requeue?: boolean } = {}): void {
    if (!this.settleable('reject')) return;
    this.settler.reject(this.envelope.deliveryTag, o.requeue ?? false);
    this.settled = true;
  }

  private settleable(what: string): boolean {
    if (this.settler.noAck) return false;
    if (this.settled) throw new TypeError(`message.${what}(): delivery ${this.envelope.deliveryTag} was already settled`);
    return true;
  }
}
