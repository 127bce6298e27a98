// Channel: the public surface of one AMQP channel, every API.md channel
// method. Each method checks its arguments, says what to send, and shapes
// the reply. Layers under it, one job each: ConsumingChannel (consumers,
// get, acks), RecoverableChannel (what recovery replays), ChannelCore
// (state, requests, incoming frames).
import {
  BASIC_QOS,
  type BasicPropertiesInit,
} from '../generated/basic.js';
import { CHANNEL_FLOW } from '../generated/channel.js';
import { CONFIRM_SELECT } from '../generated/confirm.js';
import { EXCHANGE_BIND, EXCHANGE_DECLARE, EXCHANGE_DELETE, EXCHANGE_UNBIND } from '../generated/exchange.js';
import { QUEUE_BIND, QUEUE_DECLARE, QUEUE_DELETE, QUEUE_PURGE, QUEUE_UNBIND } from '../generated/queue.js';
import { TX_COMMIT, TX_ROLLBACK, TX_SELECT } from '../generated/tx.js';
import { bound, declareFlags, done, exchangeBinding, exchangeBindingRecord, queueBinding, quietRejection } from './channel-args.js';
import type { CancellationCallbackOf, ReturnCallbackOf } from './channel-types.js';
import { ConsumingChannel } from './channel-consume.js';
import type { ChannelHost } from './channel-host.js';
import { ConfirmTracker } from './confirms.js';
import type { ConsumerCallbackOf } from './consumer.js';
import { writePublish, PublishFrameCache } from './framing/publish-frames.js';
import { waitForAll, withSeq } from './publish-outcome.js';
import { publishTrace, traced } from './tracing.js';
import type {
  BindOptions,
  ExchangeDeclareOptions,
  ExchangeDeleteOptions,
  NoWait,
  PublishOptions,
  PurgeOptions,
  QosOptions,
  QueueDeclareOptions,
  QueueDeclareResult,
  QueueDeleteOptions,
  QueueUnbindOptions,
  Timeout,
} from './channel-options.js';

export type { ChannelState } from './channel-types.js';
/** Called with each message the broker returns (mandatory, unroutable) when no publish promise takes it. */
export type ReturnCallback = ReturnCallbackOf<Channel>;
/** Called when the broker cancels one of this channel's consumers (queue deleted, node down). */
export type CancellationCallback = CancellationCallbackOf<Channel>;
/** A `basicConsume` callback: `(channel, body, envelope, properties)`; a returned promise holds a concurrency slot. */
export type ConsumerCallback = ConsumerCallbackOf<Channel>;

/** Options of `protocol.channel()`. */
export interface ChannelOptions {
  /** Where returned messages go (else to onError); settable later as `channel.returnCallback`. */
  returnCallback?: ReturnCallback | null;
  /** Milliseconds to wait for channel.open-ok. */
  timeout?: number;
  /** Abort the open: rejects with `signal.reason` (a late open-ok is answered with channel.close). */
  signal?: AbortSignal;
}

/**
 * One AMQP channel: every API.md channel method, an EventEmitter ('close'
 * once, 'flow'), opened with `protocol.channel()`.
 *
 * @example
 * const channel = await protocol.channel();
 * await channel.queueDeclare('jobs', { durable: true });
 * await channel.publish('hello', '', 'jobs');
 */
export class Channel extends ConsumingChannel<Channel> {
  /** The last basic.publish frame this channel wrote, reused while exchange and key repeat. */
  private readonly publishCache = new PublishFrameCache();
  /** Publishes held (blocked, recovering, flow) and not yet settled, in publish order. */
  private readonly held = new Set<Promise<void>>();

  /** Channels are opened with `protocol.channel()`, never constructed by hand. */
  private constructor(conn: ChannelHost, channelId: number, options: ChannelOptions) {
    super(conn, channelId);
    this.returnCallback = options.returnCallback ?? null;
  }

  /** @internal The connection's way to make a channel (before channel.open). */
  static create(conn: ChannelHost, channelId: number, options: ChannelOptions = {}): Channel {
    return new Channel(conn, channelId, options);
  }

  protected get self(): Channel {
    return this;
  }

  /**
   * Close the channel (channel.close / close-ok). A close in progress
   * always succeeds locally: after `timeout` (default 2000 ms) the channel
   * is marked closed anyway. A call while a close is in progress waits for
   * that close; a call on a channel already closed (by the user, the broker
   * or the connection) rejects with the channel's close error
   * (`ChannelClosed`, or `AmqpClosedConnection` once the connection ended),
   * like any other method on a closed channel.
   */
  close(replyCode = 0, replyText = 'Normal Shutdown', o: Timeout = {}): Promise<void> {
    return this.startClose(replyCode, replyText, o.timeout ?? 2000);
  }

  // ---------------------------------------------------------------- queue

  /** queue.declare: `''` asks the broker for a name (in the result); `passive` only checks that it exists (404 if not). */
  queueDeclare(queueName = '', o: QueueDeclareOptions = {}): Promise<QueueDeclareResult> {
    const args = { queue: queueName, exclusive: o.exclusive ?? false, ...declareFlags(o) };
    return this.rpc.request(QUEUE_DECLARE, args, o).then((m) => {
      const queue = m === null ? queueName : m.args.queue;
      this.lastQueue = queue;
      if (!args.passive) this.conn.topology?.declareQueue({ ...args, name: queue, serverNamed: queueName === '' });
      return m === null ? { queue, messageCount: 0, consumerCount: 0 } : { queue, messageCount: m.args.messageCount, consumerCount: m.args.consumerCount };
    });
  }


  /** queue.delete; resolves with how many messages went with it. */
  queueDelete(queueName: string, o: QueueDeleteOptions = {}): Promise<{
    /** Messages deleted or purged with it. */
    messageCount: number;
  }> {
    const args = { queue: queueName, ifUnused: o.ifUnused ?? false, ifEmpty: o.ifEmpty ?? false, noWait: o.noWait ?? false };
    return this.rpc.request(QUEUE_DELETE, args, o).then((m) => {
      this.conn.topology?.deleteQueue(queueName);
      return { messageCount: m?.args.messageCount ?? 0 };
    });
  }

  /** queue.bind: route messages from `exchangeName` with `routingKey` to the queue. */
  queueBind(queueName: string, exchangeName: string, routingKey: string, o: BindOptions = {}): Promise<void> {
    const args = { queue: queueName, exchange: exchangeName, routingKey, noWait: o.noWait ?? false, arguments: o.arguments ?? {} };
    return this.rpc.request(QUEUE_BIND, args, o).then(() => this.conn.topology?.bind(queueBinding(args)));
  }

  /** queue.unbind: remove a binding made by queueBind (same key and arguments). */
  queueUnbind(queueName: string, exchangeName: string, routingKey: string, o: QueueUnbindOptions = {}): Promise<void> {
    const args = { queue: queueName, exchange: exchangeName, routingKey, arguments: o.arguments ?? {} };
    return this.rpc.request(QUEUE_UNBIND, args, { timeout: o.timeout, signal: o.signal }).then(() => this.conn.topology?.unbind(queueBinding(args)));
  }

  /** queue.purge: drop the queue's ready messages; resolves with how many. */
  queuePurge(queueName: string, o: PurgeOptions = {}): Promise<{
    /** Messages deleted or purged with it. */
    messageCount: number;
  }> {
    const args = { queue: queueName, noWait: o.noWait ?? false };
    return this.rpc.request(QUEUE_PURGE, args, o).then((m) => ({ messageCount: m?.args.messageCount ?? 0 }));
  }

  // ---------------------------------------------------------------- exchange

  /** exchange.declare of type `typeName` ('direct', 'fanout', 'topic', 'headers' or a plugin's); `passive` only checks. */
  exchangeDeclare(exchangeName: string, typeName = 'direct', o: ExchangeDeclareOptions = {}): Promise<void> {
    const args = { exchange: exchangeName, type: typeName, internal: o.internal ?? false, ...declareFlags(o) };
    return this.rpc.request(EXCHANGE_DECLARE, args, o).then(() => {
      if (!args.passive) this.conn.topology?.declareExchange({ ...args, name: exchangeName });
    });
  }

  /** exchange.delete (its bindings go with it). */
  exchangeDelete(exchangeName: string, o: ExchangeDeleteOptions = {}): Promise<void> {
    const args = { exchange: exchangeName, ifUnused: o.ifUnused ?? false, noWait: o.noWait ?? false };
    return this.rpc.request(EXCHANGE_DELETE, args, o).then(() => this.conn.topology?.deleteExchange(exchangeName));
  }

  /** exchange.bind (RabbitMQ extension): route from `exchangeSource` to `exchangeDestination` with `routingKey`. */
  exchangeBind(exchangeDestination: string, exchangeSource: string, routingKey: string, o: BindOptions = {}): Promise<void> {
    const args = exchangeBinding(exchangeDestination, exchangeSource, routingKey, o);
    return this.rpc.request(EXCHANGE_BIND, args, o).then(() => this.conn.topology?.bind(exchangeBindingRecord(args)));
  }

  /** exchange.unbind: remove a binding made by exchangeBind. */
  exchangeUnbind(exchangeDestination: string, exchangeSource: string, routingKey: string, o: BindOptions = {}): Promise<void> {
    const args = exchangeBinding(exchangeDestination, exchangeSource, routingKey, o);
    return this.rpc.request(EXCHANGE_UNBIND, args, o).then(() => this.conn.topology?.unbind(exchangeBindingRecord(args)));
  }

  // ---------------------------------------------------------------- publish

  /**
   * Publish a message. Without confirms, resolves once its frames are
   * handed to the socket and the socket's buffer is below its high-water
   * mark; in confirm mode, on the broker's ack (nack → `PublishFailed`; a
   * returned `mandatory` publish → `MessageReturned`, which then does not
   * reach returnCallback; the channel's end → its close error). While the
   * connection is blocked or recovering, or the broker paused the channel
   * (channel.flow), waits (bounded by maxHeldBytes). A Uint8Array
   * payload of 8 KiB or more is sent without copying: do not modify it
   * until the promise settles. The promise may be ignored (fire and
   * forget): its rejection is never reported as unhandled, and a failure
   * that ends the channel or connection also surfaces there.
   */
  publish(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties?: BasicPropertiesInit,
    o?: PublishOptions,
  ): Promise<void> {
    if (publishTrace.hasSubscribers) return this.publishTraced(payload, exchangeName, routingKey, properties, o);
    return this.dispatch(payload, exchangeName, routingKey, properties, o);
  }

  /** Now, held (blocked, recovering, paused by flow), or bounded by a timeout or signal. */
  private dispatch(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties: BasicPropertiesInit | undefined,
    o: PublishOptions | undefined,
  ): Promise<void> {
    if (o !== undefined && (o.timeout !== undefined || o.signal !== undefined)) return this.boundedPublish(payload, exchangeName, routingKey, properties, o);
    if (this.mustHold()) return this.hold(payload, exchangeName, routingKey, properties, o);
    return this.publishNow(payload, exchangeName, routingKey, properties, o);
  }

  /** Publishes wait: the connection is blocked or recovering, or the broker paused this channel. */
  private mustHold(): boolean {
    return (this.conn.blocked !== null || this.conn.state === 'recovering' || !this.flowActive) && this.accepting();
  }

  /** A publish with a timeout or signal: it rejects when they expire first; held, it is then never sent. */
  private boundedPublish(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties: BasicPropertiesInit | undefined,
    o: PublishOptions,
  ): Promise<void> {
    if (o.signal?.aborted) return quietRejection(o.signal.reason);
    const waiting = this.mustHold();
    let run: (() => void) | null = null;
    const p = waiting
      ? this.hold(payload, exchangeName, routingKey, properties, o, (r) => (run = r))
      : this.publishNow(payload, exchangeName, routingKey, properties, o);
    return bound(p, o, () => {
      if (run !== null) this.conn.dropHeld(run);
    });
  }

  /** publish inside its `amqp091:publish` trace, with the trace's copy of the properties (tracing.ts). */
  private publishTraced(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties: BasicPropertiesInit | undefined,
    o: PublishOptions | undefined,
  ): Promise<void> {
    const send = (props: BasicPropertiesInit): Promise<void> => this.dispatch(payload, exchangeName, routingKey, props, o);
    return traced.publish(send, this.channelId, this.conn.remote, payload, exchangeName, routingKey, properties);
  }

  /**
   * Resolves once every publish made so far on this confirm channel (held
   * ones included) has settled; rejects, once they all have, with the
   * failure of the earliest that failed (publish order). `TypeError` when
   * the channel is not in confirm mode; `TimeoutError` after `timeout` ms.
   */
  waitForConfirms(o: Timeout = {}): Promise<void> {
    if (this.confirms === null) return Promise.reject(new TypeError('waitForConfirms: the channel is not in confirm mode (call confirmSelect first)'));
    const all = waitForAll(this.confirms, this.held, o.timeout);
    return o.signal === undefined ? all : bound(all, { signal: o.signal }, () => undefined);
  }

  /** Blocked, recovering or paused by the broker's flow: the publish waits its turn (PublishBufferFull past maxHeldBytes). */
  private hold(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties: BasicPropertiesInit | undefined,
    o: PublishOptions | undefined,
    holding?: (run: () => void) => void,
  ): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : (payload?.length ?? 0);
    const held = new Promise<void>((resolve, reject) => {
      const run = (): void => void this.publishNow(payload, exchangeName, routingKey, properties, o).then(resolve, reject);
      this.conn.holdPublish(bytes, run, reject, this);
      holding?.(run);
    });
    held.catch(() => undefined);
    // Until it settles, waitForConfirms waits for it too.
    this.held.add(held);
    const drop = (): void => void this.held.delete(held);
    held.then(drop, drop);
    return held;
  }

  private publishNow(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties: BasicPropertiesInit | undefined,
    o: PublishOptions | undefined,
  ): Promise<void> {
    if (!this.usable()) return quietRejection(this.closedError());
    let body: Uint8Array;
    if (typeof payload === 'string') body = Buffer.from(payload, 'utf8');
    else if (payload instanceof Uint8Array) body = payload;
    else return quietRejection(new TypeError(`publish: payload must be a string or a Uint8Array, got ${typeof payload}`));
    const fw = this.conn.fw;
    const flags = o === undefined ? 0 : (o.mandatory ? 1 : 0) | (o.immediate ? 2 : 0);
    const confirms = this.confirms;
    // A mandatory publish on a confirm channel carries its delivery tag, so that its return finds it.
    const bare = confirms !== null && (flags & 1) !== 0 && properties?.headers === undefined;
    const props = confirms !== null && (flags & 1) !== 0 ? withSeq(properties, confirms.next) : properties;
    try {
      writePublish(fw, this.channelId, this.publishCache, exchangeName, routingKey, flags, props, body);
    } catch (err) {
      return quietRejection(err);
    }
    if (confirms !== null) return confirms.register(bare);
    return fw.whenWritten();
  }

  // ---------------------------------------------------------------- basic

  /** basic.qos: how many unacked deliveries (`prefetchCount`) the broker sends this channel's consumers. */
  basicQos(o: QosOptions = {}): Promise<void> {
    const args = { prefetchSize: o.prefetchSize ?? 0, prefetchCount: o.prefetchCount ?? 0, global: o.connectionGlobal ?? false };
    return this.rpc.request(BASIC_QOS, args, { timeout: o.timeout, signal: o.signal }).then(() => void this.qos.set(args.global, args));
  }

  /** Put the channel in confirm mode: from now on publish resolves on the broker's ack. */
  confirmSelect(o: NoWait & Timeout = {}): Promise<void> {
    // Confirm mode counts the publishes written after select: start
    // numbering exactly when select is written.
    const onSent = (): void => {
      this.confirms ??= new ConfirmTracker();
    };
    return this.rpc.request(CONFIRM_SELECT, { noWait: o.noWait ?? false }, { ...o, onSent }).then(done);
  }

  /** channel.flow from the client: ask the broker to stop (false) or resume (true) deliveries (RabbitMQ refuses false: 540). */
  flow(active: boolean, o: Timeout = {}): Promise<void> {
    return this.rpc.request(CHANNEL_FLOW, { active }, o).then(done);
  }

  /** tx.select: from now on publishes and acks take effect at txCommit. In tx mode a publish resolves once written; RabbitMQ refuses tx on a confirm channel (406). */
  txSelect(o: Timeout = {}): Promise<void> {
    return this.rpc.request(TX_SELECT, {}, o).then(done);
  }

  /** tx.commit: the publishes and acks since the last commit or rollback take effect. */
  txCommit(o: Timeout = {}): Promise<void> {
    return this.rpc.request(TX_COMMIT, {}, o).then(done);
  }

  /** tx.rollback: the publishes and acks since the last commit or rollback are dropped. */
  txRollback(o: Timeout = {}): Promise<void> {
    return this.rpc.request(TX_ROLLBACK, {}, o).then(done);
  }

}

export interface Channel {
  /** Alias of `publish` (aioamqp's name). */
  basicPublish: Channel['publish'];
}
Channel.prototype.basicPublish = Channel.prototype.publish;
