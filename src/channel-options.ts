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
  /** Extra `x-` arguments for the broker (e.g. `x-queue-type`, `x-message-ttl`, `x-priority`). */
  arguments?: FieldTable;
}

/** Options of `queueDeclare` (all default false). */
export interface QueueDeclareOptions extends Timeout, NoWait, Args {
  /** Only check that the queue exists (the channel closes with 404 when it does not); declare nothing. */
  passive?: boolean;
  /** The queue survives a broker restart. */
  durable?: boolean;
  /** Only this connection may use the queue; it is deleted when the connection closes. */
  exclusive?: boolean;
  /** Delete the queue once its last consumer has gone. */
  autoDelete?: boolean;
}
/** Options of `queueDelete`. */
export interface QueueDeleteOptions extends Timeout, NoWait {
  /** Only delete the queue when it has no consumers (else the channel closes with 406). */
  ifUnused?: boolean;
  /** Only delete the queue when it holds no messages (else the channel closes with 406). */
  ifEmpty?: boolean;
}
/** Options of `exchangeDeclare` (all default false). */
export interface ExchangeDeclareOptions extends Timeout, NoWait, Args {
  /** Only check that the exchange exists (the channel closes with 404 when it does not); declare nothing. */
  passive?: boolean;
  /** The exchange survives a broker restart. */
  durable?: boolean;
  /** Delete the exchange once its last binding has gone. */
  autoDelete?: boolean;
  /** Clients cannot publish to it; only exchange-to-exchange bindings feed it. */
  internal?: boolean;
}
/** Options of `exchangeDelete`. */
export interface ExchangeDeleteOptions extends Timeout, NoWait {
  /** Only delete the exchange when nothing is bound to it (else the channel closes with 406). */
  ifUnused?: boolean;
}
/** Options of `queueBind`, `exchangeBind` and `exchangeUnbind`. */
export interface BindOptions extends Timeout, NoWait, Args {}
/** Options of `queueUnbind` (queue.unbind has no no-wait). */
export interface QueueUnbindOptions extends Timeout, Args {}
/** Options of `queuePurge`. */
export interface PurgeOptions extends Timeout, NoWait {}
/**
 * `timeout` and `signal` bound the wait while the publish is held (blocked,
 * paused by flow, recovering) and the wait for its confirm; on expiry a
 * held publish is dropped, never sent, while one already written may still
 * be confirmed later (its promise has already rejected).
 */
export interface PublishOptions extends Timeout {
  /** Return the message (basic.return) when no queue routes it, instead of dropping it. */
  mandatory?: boolean;
  /** Not supported by RabbitMQ: it closes the connection (540). */
  immediate?: boolean;
}
/** Options of `basicQos`. */
export interface QosOptions extends Timeout {
  /** Prefetch window in bytes (default 0: no limit); RabbitMQ supports only 0 (any other value closes the connection). */
  prefetchSize?: number;
  /** Unacknowledged deliveries the broker sends ahead per consumer (default 0: no limit). */
  prefetchCount?: number;
  /** Sent as basic.qos `global`: RabbitMQ then applies the limit to the whole channel. */
  connectionGlobal?: boolean;
}
/** Options of `basicConsume`. */
export interface ConsumeOptions extends Timeout, NoWait, Args {
  /** The queue to consume (default '': the queue last declared on this channel). */
  queueName?: string;
  /** The consumer's tag (default: a unique one made by the library). */
  consumerTag?: string;
  /** Do not deliver messages published on this connection (RabbitMQ ignores it). */
  noLocal?: boolean;
  /** Deliveries count as acked once sent: no ack needed, none allowed (default false). */
  noAck?: boolean;
  /** Be the queue's only consumer (the broker refuses it when the queue has others). */
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
  /** Deliveries count as acked once sent: `msg.ack()` and the like are no-ops (default false). */
  noAck?: boolean;
  /** Be the queue's only consumer (the broker refuses it when the queue has others). */
  exclusive?: boolean;
  /** The consumer's tag (default: a unique one made by the library). */
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
/** Options of `basicCancel`. */
export interface CancelOptions extends Timeout, NoWait {}
/** Options of `basicGet`. */
export interface GetOptions extends Timeout {
  /** The message counts as acked once sent (default false: settle it with `basicClientAck` and the like). */
  noAck?: boolean;
}
/** Options of `basicClientNack`. */
export interface NackOptions {
  /** Also nack every earlier unsettled delivery of this channel (default false). */
  multiple?: boolean;
  /** Put the message back in its queue (default true); false drops or dead-letters it. */
  requeue?: boolean;
}
/** Options of `basicReject`. */
export interface RejectOptions {
  /** Put the message back in its queue (default false: dropped or dead-lettered). */
  requeue?: boolean;
}
/** Options of `basicRecover`. */
export interface RecoverOptions extends Timeout {
  /** Default true: every unacknowledged delivery of the channel goes back to its queue. */
  requeue?: boolean;
}

/** What `queueDeclare` resolves with. */
export interface QueueDeclareResult {
  /** The queue's name: the one the broker made up when it was declared with ''. */
  queue: string;
  /** Messages ready in the queue (not counting unacknowledged ones). */
  messageCount: number;
  /** Consumers of the queue. */
  consumerCount: number;
}

/** What `basicGet` resolves with. */
export interface GetResult {
  /** The message body. */
  message: Buffer;
  /** The message properties. */
  properties: BasicProperties;
  /** The tag to ack, nack or reject it with (unless fetched with `noAck`). */
  deliveryTag: number;
  /** The message was delivered before and not acked (e.g. it was requeued). */
  redelivered: boolean;
  /** The exchange it was published to ('' for the default exchange). */
  exchangeName: string;
  /** The routing key it was published with. */
  routingKey: string;
  /** Messages left in the queue. */
  messageCount: number;
}
