// ConsumingChannel: the receiving side of a channel's public surface:
// consumers (basicConsume, basicCancel), basic.get, and settling what was
// delivered (ack, nack, reject, recover). Under the public Channel
// (channel.ts), over the recovery and core layers.

import { BASIC_CANCEL, BASIC_CONSUME, BASIC_GET, BASIC_GET_OK, BASIC_QOS, BASIC_RECOVER, encodeBasicNack, encodeBasicRecoverAsync } from '../generated/basic.js';
import type { IncomingMethod } from '../generated/dispatch.js';
import { DuplicateConsumerTag, EmptyQueue } from './errors.js';
import type { CancellationCallbackOf } from './channel-types.js';
import { done } from './channel-args.js';
import { RecoverableChannel } from './channel-recovery.js';
import type * as opt from './channel-options.js';
import { Consumer, type ConsumerCallbackOf, type ConsumerHost } from './consumer.js';
import { Consumer as MessageConsumer, type IteratorHost } from './consumer-iterator.js';
import { ConsumerLifecycle, type ConsumerHandle } from './consumer-state.js';
import { autoSettled, settleMode, type AutoSettler } from './settle.js';
import { withStreamOffset } from './stream-offset.js';
import type { FieldTable } from './wire/index.js';

let tagCounter = 0;
const tagPrefix = `amqp091-${process.pid}-${Date.now().toString(36)}`;


export abstract class ConsumingChannel<Self> extends RecoverableChannel<Self> {
  /** For the consumers: the channel their callbacks receive, and where their errors go. */
  private get consumerHost(): ConsumerHost<Self> {
    return { channel: this.self, report: (err: unknown) => this.conn.report(err) };
  }

  /**
   * Start a consumer. The callback never runs before this promise has
   * resolved; deliveries reach it in order, `concurrency` at a time.
   * Resolves with the tag and the consumer's state (`consumer`).
   *
   * @example
   * ```ts
   * await channel.basicConsume(
   *   async (ch, body, envelope) => {
   *     console.log(body.toString());
   *     ch.basicClientAck(envelope.deliveryTag);
   *   },
   *   { queueName: 'jobs' },
   * );
   * ```
   */
  basicConsume(
    callback: ConsumerCallbackOf<Self>,
    o: opt.ConsumeOptions = {},
  ): Promise<{
    /** The consumer's tag (for `basicCancel`). */
    consumerTag: string;
    /** Its state, `closed` promise and `cancel()`. */
    consumer: ConsumerHandle;
  }> {
    if (typeof callback !== 'function') return Promise.reject(new TypeError('basicConsume: callback must be a function'));
    const concurrency = o.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return Promise.reject(new TypeError(`basicConsume: concurrency must be a positive integer, got ${String(concurrency)}`));
    }
    const noAck = o.noAck ?? false;
    let args: FieldTable;
    let cb = callback;
    try {
      if (settleMode('basicConsume', o.settle, noAck) === 'auto') cb = autoSettled(callback, this.autoSettler, o.requeueOnError ?? false);
      args = withStreamOffset(o.arguments, o.offset);
    } catch (err) {
      return Promise.reject(err);
    }
    // subscribe() refuses a closed channel or an aborted signal before anything is sent.
    const tag = this.tagFor(o);
    const life = this.lifecycle(tag);
    const consumer = new Consumer(tag, cb, concurrency, noAck, this.consumerHost, life);
    const wire = { queue: o.queueName ?? '', noLocal: o.noLocal ?? false, exclusive: o.exclusive ?? false, noWait: o.noWait ?? false, arguments: args };
    return this.subscribe(consumer, wire, o).then(() => ({ consumerTag: tag, consumer: life }));
  }

  /**
   * Consume `queueName` as an async iterator of Messages (see Consumer):
   * `prefetch` sends basic.qos (prefetch-count, global false) first.
   * Leaving the loop cancels the consumer.
   *
   * @example
   * ```ts
   * const consumer = await channel.consume('jobs', { prefetch: 10 });
   * for await (const msg of consumer) {
   *   console.log(msg.body.toString());
   *   msg.ack();
   * }
   * ```
   */
  consume(queueName: string, o: opt.ConsumeIteratorOptions = {}): Promise<MessageConsumer> {
    const noAck = o.noAck ?? false;
    const highWaterMark = o.highWaterMark ?? 1000;
    let args: FieldTable;
    let autoSettle: boolean;
    try {
      if (typeof queueName !== 'string') throw new TypeError(`consume: queueName must be a string, got ${typeof queueName}`);
      if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
        throw new TypeError(`consume: highWaterMark must be a positive integer, got ${String(highWaterMark)}`);
      }
      if (o.prefetch !== undefined && (!Number.isInteger(o.prefetch) || o.prefetch < 0 || o.prefetch > 0xffff)) {
        throw new TypeError(`consume: prefetch must be an integer from 0 to 65535, got ${String(o.prefetch)}`);
      }
      autoSettle = settleMode('consume', o.settle, noAck) === 'auto';
      args = withStreamOffset(o.arguments, o.offset);
    } catch (err) {
      return Promise.reject(err);
    }
    const refused = this.refusal(o);
    if (refused !== null) return refused;
    const tag = this.tagFor(o);
    if (this.consumers.has(tag)) return Promise.reject(this.duplicate(tag));
    const life = this.lifecycle(tag);
    const iterator = new MessageConsumer(life, this.iteratorHost(noAck), { noAck, autoSettle, highWaterMark, queue: queueName });
    const consumer = new Consumer(tag, iterator.push, 1, noAck, this.consumerHost, life);
    const wire = { queue: queueName, noLocal: false, exclusive: o.exclusive ?? false, noWait: false, arguments: args };
    const qos = o.prefetch === undefined ? Promise.resolve() : this.prefetch(o.prefetch, o);
    return qos.then(() => this.subscribe(consumer, wire, o)).then(() => iterator);
  }

  /** Register `consumer` and send basic.consume; on failure it is forgotten (or cancelled, when the broker may still start it). */
  private subscribe(
    consumer: Consumer<Self>,
    a: { queue: string; noLocal: boolean; exclusive: boolean; noWait: boolean; arguments: FieldTable },
    o: opt.Timeout,
  ): Promise<void> {
    const tag = consumer.tag;
    const refused = this.refusal(o);
    if (refused !== null) return refused;
    if (this.consumers.has(tag)) return Promise.reject(this.duplicate(tag));
    const args = { queue: a.queue, consumerTag: tag, noLocal: a.noLocal, noAck: consumer.noAck, exclusive: a.exclusive, noWait: a.noWait, arguments: a.arguments };
    this.consumers.add(consumer);
    const started = (): void => {
      // Recorded as the broker resolved it: a consume on '' means the channel's last declared queue.
      consumer.recorded = { ...args, queue: args.queue === '' ? this.lastQueue : args.queue };
      this.conn.topology?.consumerAdded(consumer.recorded.queue);
      // Let the caller's continuation run first, then start calling back.
      setImmediate(() => consumer.activate());
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
      consumer.life.end(err instanceof Error ? err : new Error(String(err)));
      throw err;
    };
    return this.rpc.request(BASIC_CONSUME, args, o).then(started, failed);
  }

  /** basic.qos prefetch-count for this channel (global false), recorded for recovery as basicQos does. */
  private prefetch(count: number, o: opt.Timeout): Promise<void> {
    const args = { prefetchSize: 0, prefetchCount: count, global: false };
    return this.rpc.request(BASIC_QOS, args, { timeout: o.timeout, signal: o.signal }).then(() => void this.qos.set(false, args));
  }

  /**
   * Why a call cannot start, checked in RpcQueue's order: an already-aborted
   * signal first (its reason, as every other call and publish reject), then
   * a closed channel (its close error); null when it can.
   */
  private refusal(o: opt.Timeout): Promise<never> | null {
    if (o.signal?.aborted) return Promise.reject(o.signal.reason);
    if (!this.accepting()) return Promise.reject(this.closedError());
    return null;
  }

  /** The user's consumer tag, or a fresh one unique in this process. */
  private tagFor(o: { consumerTag?: string | undefined }): string {
    return o.consumerTag || `${tagPrefix}-${this.channelId}-${++tagCounter}`;
  }

  private duplicate(tag: string): DuplicateConsumerTag {
    return new DuplicateConsumerTag(`consumer tag '${tag}' is already active on channel ${this.channelId}`);
  }

  private lifecycle(tag: string): ConsumerLifecycle {
    return new ConsumerLifecycle(tag, (t) => this.basicCancel(t));
  }

  /** For settle: 'auto' callbacks: settle what is still outstanding on an open channel. */
  private get autoSettler(): AutoSettler {
    return {
      outstanding: (tag) => this.accepting() && this.acks.outstanding(tag),
      ack: (tag) => this.acks.ack(tag, false),
      nack: (tag, requeue) => this.acks.nack(tag, false, requeue),
    };
  }

  private iteratorHost(noAck: boolean): IteratorHost {
    return {
      settler: {
        noAck,
        ack: (tag) => this.basicClientAck(tag),
        nack: (tag, requeue) => this.basicClientNack(tag, { requeue }),
        reject: (tag, requeue) => this.basicReject(tag, { requeue }),
      },
      outstanding: (tag) => this.accepting() && this.acks.outstanding(tag),
      requeue: (tag) => {
        if (this.usable() && this.acks.outstanding(tag)) this.acks.reject(tag, true);
      },
      pauseReading: (who) => this.conn.reads.pause(who),
      resumeReading: (who) => this.conn.reads.resume(who),
    };
  }

  /**
   * Cancel a consumer. Deliveries it has buffered or that still arrive are
   * rejected with requeue (unless it is noAck), never passed to the callback.
   */
  basicCancel(consumerTag: string, o: opt.CancelOptions = {}): Promise<void> {
    const refused = this.refusal(o);
    if (refused !== null) return refused;
    const consumer = this.consumers.get(consumerTag);
    // After the cancel, so that requeued messages do not come back to it.
    const requeueBuffered = (): void => {
      if (consumer === undefined) return;
      consumer.life.sink?.cancelSent();
      if (consumer.noAck) return;
      for (const d of consumer.takeBuffered()) {
        this.acks.reject(d.envelope.deliveryTag, true);
      }
    };
    if (consumer !== undefined) {
      this.consumers.cancelling(consumer);
      consumer.life.userCancelled();
    }
    const args = { consumerTag, noWait: o.noWait ?? false };
    let sent = false;
    const onSent = (): void => {
      sent = true;
      requeueBuffered();
    };
    return this.rpc.request(BASIC_CANCEL, args, { ...o, onSent }).then(
      () => {
        if (consumer === undefined || !this.consumers.remove(consumer)) return;
        consumer.state = 'cancelled';
        consumer.life.end(null);
        if (consumer.recorded !== null) this.conn.topology?.consumerCancelled(consumer.recorded.queue);
      },
      (err: unknown) => {
        // Given up before it was sent (abort, timeout): the broker still delivers to this consumer.
        if (!sent && consumer !== undefined && this.consumers.get(consumerTag) === consumer && this.usable()) {
          if (consumer.life.sink === null) {
            this.consumers.cancelWithdrawn(consumer);
            consumer.life.cancelWithdrawn();
          } else void this.basicCancel(consumerTag).catch(() => undefined); // an iterator's loop has already stopped
        }
        throw err;
      },
    );
  }

  /** Get one message; rejects `EmptyQueue` when the queue is empty. */
  basicGet(queueName = '', o: opt.GetOptions = {}): Promise<opt.GetResult> {
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

  /** Nack a delivery (basic.nack); requeued unless `requeue: false`. Throws like `basicClientAck`. */
  basicClientNack(deliveryTag: number, o: opt.NackOptions = {}): void {
    this.acks.nack(this.settleable('basicClientNack', deliveryTag), o.multiple ?? false, o.requeue ?? true);
  }

  /** Reject a delivery (basic.reject); dropped or dead-lettered unless `requeue: true`. Throws like `basicClientAck`. */
  basicReject(deliveryTag: number, o: opt.RejectOptions = {}): void {
    this.acks.reject(this.settleable('basicReject', deliveryTag), o.requeue ?? false);
  }

  /** The tag to settle, or a synchronous throw: TypeError for a bad tag, the close error on a closed channel. */
  private settleable(what: string, deliveryTag: unknown): number {
    const tag = this.acks.checkType(what, deliveryTag);
    if (!this.accepting()) throw this.closedError();
    return this.acks.check(what, tag);
  }

  /** Ask the broker to redeliver every unacknowledged delivery of the channel (basic.recover); resolves on recover-ok. */
  basicRecover(o: opt.RecoverOptions = {}): Promise<void> {
    // Redelivered under new tags: the old ones need no settling.
    const args = { requeue: o.requeue ?? true };
    return this.rpc.request(BASIC_RECOVER, args, { timeout: o.timeout, signal: o.signal, onSent: () => this.acks.reset() }).then(done);
  }

  /** basic.recover-async: like `basicRecover`, without waiting for a reply; throws on a closed channel. */
  basicRecoverAsync(o: { requeue?: boolean } = {}): void {
    if (!this.usable()) throw this.closedError();
    this.write(encodeBasicRecoverAsync, { requeue: o.requeue ?? true });
    this.acks.reset();
  }

  /** Call `cb(channel, consumerTag)` whenever the broker cancels a consumer of this channel (e.g. its queue was deleted). */
  addCancellationCallback(cb: CancellationCallbackOf<Self>): void {
    this.cancellationCallbacks.push(cb);
  }

}
