// Stream queues (RabbitMQ `x-queue-type: stream`): where a consumer starts
// reading, sent as the consumer argument `x-stream-offset`, and the offset
// of each delivered message, read from its `x-stream-offset` header.

import type { BasicProperties } from '../generated/basic.js';
import { typed, type FieldTable, type FieldValue } from './wire/index.js';

/**
 * Where a stream consumer starts: `'first'` (the oldest message kept),
 * `'last'` (the last chunk written), `'next'` (only what is published from
 * now on), an offset (a number or bigint), a `Date` (sent as an AMQP
 * timestamp, whole seconds), or `{ interval: '1h' }` (messages younger
 * than that: RabbitMQ's units are Y, M, D, h, m, s).
 */
export type StreamOffset = 'first' | 'last' | 'next' | number | bigint | Date | {
      /** How far back: a number and a unit, e.g. '1h', '30m', '7D'. */
      interval: string;
    };

const INTERVAL = /^\d+[YMDhms]$/;

/** `offset` as the value of `x-stream-offset`; TypeError when it is not a valid offset. */
export function streamOffsetArgument(offset: StreamOffset): FieldValue {
  if (offset === 'first' || offset === 'last' || offset === 'next') return offset;
  if (typeof offset === 'number' || typeof offset === 'bigint') {
    if (typeof offset === 'number' && !Number.isSafeInteger(offset)) throw new TypeError(`offset: ${offset} is not an integer offset`);
    if (offset < 0) throw new TypeError(`offset: ${offset} is negative`);
    return typed('int64', offset);
  }
  if (offset instanceof Date) {
    if (Number.isNaN(offset.getTime())) throw new TypeError('offset: invalid Date');
    return typed('timestamp', offset);
  }
  if (offset !== null && typeof offset === 'object' && typeof offset.interval === 'string' && INTERVAL.test(offset.interval)) {
    return offset.interval;
  }
  throw new TypeError(`offset: expected 'first', 'last', 'next', an integer, a Date or { interval: '1h' }, got ${describe(offset)}`);
}

/** The consumer arguments with `x-stream-offset` set when `offset` is given (a new table; `args` is not changed). */
export function withStreamOffset(args: FieldTable | undefined, offset: StreamOffset | undefined): FieldTable {
  if (offset === undefined) return args ?? {};
  return { ...args, 'x-stream-offset': streamOffsetArgument(offset) };
}

/** The stream offset of a delivered message (its `x-stream-offset` header), if it has one. */
export function streamOffsetOf(properties: BasicProperties): number | bigint | undefined {
  const v = properties.headers?.['x-stream-offset'];
  return typeof v === 'number' || typeof v === 'bigint' ? v : undefined;
}

function describe(v: unknown): string {
  try {
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  } catch {
    return String(v);
  }
}
