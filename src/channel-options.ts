// Option and result types of the Channel methods (API.md "Channel").
// Every option is optional; defaults are applied by the methods.

import type { FieldTable } from './wire/index.js';
import type { BasicProperties } from '../generated/basic.js';
import type { SettleMode } from './settle.js';
import type { StreamOffset } from './stream-offset.js';

export interface Timeout {
  /** Milliseconds to wait for the reply; rejects `TimeoutError` on expiry. */
  timeout?: number;
  /** Abort the call: it rejects with `signal.reason`; a request not yet sent is never sent. */
  signal?: AbortSignal;
}
export interface NoWait {
  /** Send with no-wait set; resolve once written. */
  noWait?: boolean;
}
export interface Args {
  arguments?: FieldTable;
}

export interface QueueDeclareOptions extends Timeout, NoWait, Args {
  passive?: boolean;
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
}
export interface QueueDeleteOptions extends Timeout, NoWait {
  ifUnused?: boolean;
  ifEmpty?: boolean;
}
export interface ExchangeDeclareOptions extends Timeout, NoWait, Args {
  passive?: boolean;
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
}
export interface ExchangeDeleteOptions extends Timeout, NoWait {
  ifUnused?: boolean;
}
export interface BindOptions extends Timeout, NoWait, Args {}
export interface QueueUnbindOptions extends Timeout, Args {}
export interface PurgeOptions extends Timeout, NoWait {}
/**
 * `timeout` and `signal` bound the wait while the publish is held (blocked,
 * paused by flow, recovering) and the wait for its confirm; on expiry a
 * held publish is dropped, never sent, while one already written may still
 * be confirmed later (its promise has already rejected).
 */
export interface PublishOptions extends Timeout {
  mandatory?: boolean;
  immediate?: boolean;
}
export interface QosOptions extends Timeout {
  prefetchSize?: number;
  prefetchCount?: number;
  /** Sent as basic.qos `global`: RabbitMQ then applies the limit to the whole channel. */
  connectionGlobal?: boolean;
}
export interface ConsumeOptions extends Timeout, NoWait, Args {
  queueName?: string;
  consumerTag?: string;
  noLocal?: boolean;
  noAck?: boolean;
  exclusive?: boolean;
  /** Callbacks of this consumer that may run at once (default 1). */
  concurrency?: number;
  /** 'auto' (ack mode only): ack each delivery once its callback returns or resolves, nack it when it throws or rejects. Default 'manual'. */
  settle?: SettleMode;
  /** With settle: 'auto', whether a delivery whose callback failed is requeued (default false: dead-lettered or dropped). */
  requeueOnError?: boolean;
  /** Stream queues: where to start reading (`x-stream-offset`). */
  offset?: StreamOffset;
}

/** Options of `channel.consume()` (the async-iterator consumer). */
export interface ConsumeIteratorOptions extends Timeout, Args {
  noAck?: boolean;
  exclusive?: boolean;
  consumerTag?: string;
  /** basic.qos prefetch-count (global false) sent just before basic.consume. */
  prefetch?: number;
  /** Stream queues: where to start reading (`x-stream-offset`). */
  offset?: StreamOffset;
  /** Buffered messages above which the connection stops reading its socket (resumed at half); default 1000. */
  highWaterMark?: number;
  /** 'auto' (ack mode only): ack the message the loop holds when it asks for the next one. Default 'manual'. */
  settle?: SettleMode;
  /** Accepted for symmetry with basicConsume; the iterator never nacks on its own (a message held when the loop is left stays the user's). */
  requeueOnError?: boolean;
}
export interface CancelOptions extends Timeout, NoWait {}
export interface GetOptions extends Timeout {
  noAck?: boolean;
}
export interface NackOptions {
  multiple?: boolean;
  requeue?: boolean;
}
export interface RejectOptions {
  requeue?: boolean;
}
export interface RecoverOptions extends Timeout {
  requeue?: boolean;
}

export interface QueueDeclareResult {
  queue: string;
  messageCount: number;
  consumerCount: number;
}

/** What `basicGet` resolves with. */
export interface GetResult {
  message: Buffer;
  properties: BasicProperties;
  deliveryTag: number;
  redelivered: boolean;
  exchangeName: string;
  routingKey: string;
  /** Messages left in the queue. */
  messageCount: number;
}
