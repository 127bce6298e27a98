// ConsumingChannel: the receiving side of a channel's public surface:
// consumers (basicConsume, basicCancel), basic.get, and settling what was
// delivered (ack, nack, reject, recover). Under the public Channel
// (channel.ts), over the recovery and core layers.

import { BASIC_CANCEL, BASIC_CONSUME, BASIC_GET, BASIC_GET_OK, BASIC_RECOVER, encodeBasicNack, encodeBasicRecoverAsync } from '../generated/basic.js';
import type { IncomingMethod } from '../generated/dispatch.js';
import { DuplicateConsumerTag, EmptyQueue } from './errors.js';
import type { CancellationCallbackOf } from './channel-core.js';
import { RecoverableChannel } from './channel-recovery.js';
import type { CancelOptions, ConsumeOptions, GetOptions, GetResult, NackOptions, RecoverOptions, RejectOptions } from './channel-options.js';
import { Consumer, type ConsumerCallbackOf, type ConsumerHost } from './consumer.js';

let tagCounter = 0;
const tagPrefix = `amqp091-${process.pid}-${Date.now().toString(36)}`;

const done = (): void => undefined;

export abstract class ConsumingChannel<Self> extends RecoverableChannel<Self> {
  /** For the consumers: the channel their callbacks receive, and where their errors go. */
  private get consumerHost(): ConsumerHost<Self> {
    return { channel: this.self, report: (err: unknown) => this.conn.report(err) };
  }

  /**
   * Start a consumer. The callback never runs before this promise has
   * resolved; deliveries reach it in order, `concurrency` at a time.
   */
  basicConsume(callback: ConsumerCallbackOf<Self>, o: ConsumeOptions = {}): Promise<{ consumerTag: string }> {
    if (typeof callback !== 'function') return Promise.reject(new TypeError('basicConsume: callback must be a function'));
    const concurrency = o.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return Promise.reject(new TypeError(`basicConsume: concurrency must be a positive integer, got ${String(concurrency)}`));
    }
    if (!this.accepting()) return Promise.reject(this.closedError());
    const tag = o.consumerTag || `${tagPrefix}-${this.channelId}-${++tagCounter}`;
    if (this.consumers.has(tag)) {
      return Promise.reject(new DuplicateConsumerTag(`consumer tag '${tag}' is already active on channel ${this.channelId}`));
    }
    const noAck = o.noAck ?? false;
    const consumer = new Consumer(tag, callback, concurrency, noAck, this.consumerHost);
    const args = {
      queue: o.queueName ?? '',
      consumerTag: tag,
      noLocal: o.noLocal ?? false,
      noAck,
      exclusive: o.exclusive ?? false,
      noWait: o.noWait ?? false,
      arguments: o.arguments ?? {},
    };
    this.consumers.add(consumer);
    const started = (): { consumerTag: string } => {
      // Recorded as the broker resolved it: a consume on '' means the channel's last declared queue.
      consumer.recorded = { ...args, queue: args.queue === '' ? this.lastQueue : args.queue };
      this.conn.topology?.consumerAdded(consumer.recorded.queue);
      // Let the caller's continuation run first, then start calling back.
      setImmediate(() => consumer.activate());
      return { consumerTag: tag };
    };
    const failed = (err: unknown): never => {
      if (this.consumers.get(tag) === consumer) {
        if (this.usable()) {
          // Timed out: the broker may still start it, so cancel it.
          this.consumers.cancelling(consumer);
          this.rpc.request(BASIC_CANCEL, { consumerTag: tag, noWait: false }).then(
            () => this.consumers.remove(consumer),
            () => undefined,
          );
        } else {
          this.consumers.remove(consumer);
        }
      }
      throw err;
    };
    return this.rpc.request(BASIC_CONSUME, args, o).then(started, failed);
  }

  /**
   * Cancel a consumer. Deliveries it has buffered or that still arrive are
   * rejected with requeue (unless it is noAck), never passed to the callback.
   */
  basicCancel(consumerTag: string, o: CancelOptions = {}): Promise<void> {
    if (!this.accepting()) return Promise.reject(this.closedError());
    const consumer = this.consumers.get(consumerTag);
    // After the cancel, so that requeued messages do not come back to it.
    const requeueBuffered = (): void => {
      if (consumer === undefined || consumer.noAck) return;
      for (const d of consumer.takeBuffered()) {
        this.acks.reject(d.envelope.deliveryTag, true);
      }
    };
    if (consumer !== undefined) this.consumers.cancelling(consumer);
    const args = { consumerTag, noWait: o.noWait ?? false };
    return this.rpc.request(BASIC_CANCEL, args, { ...o, onSent: requeueBuffered }).then(() => {
      if (consumer === undefined || !this.consumers.remove(consumer)) return;
      consumer.state = 'cancelled';
      if (consumer.recorded !== null) this.conn.topology?.consumerCancelled(consumer.recorded.queue);
    });
  }

  /** Get one message; rejects `EmptyQueue` when the queue is empty. */
  basicGet(queueName = '', o: GetOptions = {}): Promise<GetResult> {
    const noAck = o.noAck ?? false;
    // Given up on (timeout, abort) but answered later: give the message back.
    const onLate = (m: IncomingMethod): void => {
      if (m.id === BASIC_GET_OK && !noAck) this.write(encodeBasicNack, { deliveryTag: m.args.deliveryTag, multiple: false, requeue: true });
    };
    return this.rpc.request(BASIC_GET, { queue: queueName, noAck }, { timeout: o.timeout, signal: o.signal, onLate }).then((m) => {
      if (m === null || m.id !== BASIC_GET_OK || m.content === undefined) throw new EmptyQueue(`queue '${queueName}' is empty`);
      const a = m.args;
      const deliveryTag = a.deliveryTag + this.acks.base;
      this.acks.delivered(deliveryTag, !noAck);
      return {
        message: m.content.body,
        properties: m.content.properties,
        deliveryTag,
        redelivered: a.redelivered,
        exchangeName: a.exchange,
        routingKey: a.routingKey,
        messageCount: a.messageCount,
      };
    });
  }

  /**
   * Ack a delivery. Acks made in delivery order within one event-loop turn
   * reach the broker as a single `basic.ack(multiple)` covering exactly
   * the same messages. Throws (synchronously) on a closed channel or a
   * tag this channel never delivered.
   */
  basicClientAck(deliveryTag: number, multiple = false): void {
    this.acks.ack(this.settleable('basicClientAck', deliveryTag), multiple);
  }

  basicClientNack(deliveryTag: number, o: NackOptions = {}): void {
    this.acks.nack(this.settleable('basicClientNack', deliveryTag), o.multiple ?? false, o.requeue ?? true);
  }

  basicReject(deliveryTag: number, o: RejectOptions = {}): void {
    this.acks.reject(this.settleable('basicReject', deliveryTag), o.requeue ?? false);
  }

  /** The tag to settle, or a synchronous throw: TypeError for a bad tag, the close error on a closed channel. */
  private settleable(what: string, deliveryTag: unknown): number {
    const tag = this.acks.checkType(what, deliveryTag);
    if (!this.accepting()) throw this.closedError();
    return this.acks.check(what, tag);
  }

  basicRecover(o: RecoverOptions = {}): Promise<void> {
    // Redelivered under new tags: the old ones need no settling.
    const args = { requeue: o.requeue ?? true };
    return this.rpc.request(BASIC_RECOVER, args, { timeout: o.timeout, signal: o.signal, onSent: () => this.acks.reset() }).then(done);
  }

  basicRecoverAsync(o: { requeue?: boolean } = {}): void {
    if (!this.usable()) throw this.closedError();
    this.write(encodeBasicRecoverAsync, { requeue: o.requeue ?? true });
    this.acks.reset();
  }

  addCancellationCallback(cb: CancellationCallbackOf<Self>): void {
    this.cancellationCallbacks.push(cb);
  }

}
