// settle: 'auto' for callback consumers (API.md "Settling for the user"):
// the callback is wrapped so that its delivery is acked once it returns
// (or its promise resolves) and nacked, with `requeue: requeueOnError`,
// when it throws or rejects; the error still reaches onError. A delivery
// the callback settled by hand (or that a `multiple` ack covered, or that
// a closed channel voided) is not settled again. The wrapper is only made
// for 'auto': the default callback path is untouched.

import type { BasicProperties } from '../generated/basic.js';
import type { ConsumerCallbackOf } from './consumer.js';
import type { Envelope } from './framing/envelope.js';

/** Who settles deliveries: 'manual' (default, the user) or 'auto' (the library, once the consumer is done with each). */
export type SettleMode = 'manual' | 'auto';

/** @internal What auto-settling needs of the channel. */
export interface AutoSettler {
  /** Whether the delivery still needs settling (channel open, not settled by hand). */
  outstanding(deliveryTag: number): boolean;
  ack(deliveryTag: number): void;
  nack(deliveryTag: number, requeue: boolean): void;
}

/** `settle` checked: 'manual' (default) or 'auto'; TypeError otherwise, and for 'auto' with noAck. */
export function settleMode(what: string, settle: unknown, noAck: boolean): SettleMode {
  if (settle === undefined || settle === 'manual') return 'manual';
  if (settle !== 'auto') throw new TypeError(`${what}: settle must be 'manual' or 'auto', got ${String(settle)}`);
  if (noAck) throw new TypeError(`${what}: settle: 'auto' needs acks (it cannot be used with noAck)`);
  return 'auto';
}

/** `callback` wrapped to settle each delivery when it is done with it. */
export function autoSettled<Ch>(callback: ConsumerCallbackOf<Ch>, s: AutoSettler, requeueOnError: boolean): ConsumerCallbackOf<Ch> {
  const ack = (tag: number): void => {
    if (s.outstanding(tag)) s.ack(tag);
  };
  const nack = (tag: number): void => {
    if (s.outstanding(tag)) s.nack(tag, requeueOnError);
  };
  return (channel: Ch, body: Buffer, envelope: Envelope, properties: BasicProperties) => {
    const tag = envelope.deliveryTag;
    let r: void | Promise<void>;
    try {
      r = callback(channel, body, envelope, properties);
    } catch (err) {
      nack(tag);
      throw err;
    }
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<void>).then === 'function') {
      return Promise.resolve(r).then(
        () => ack(tag),
        (err: unknown) => {
          nack(tag);
          throw err;
        },
      );
    }
    ack(tag);
    return undefined;
  };
}
