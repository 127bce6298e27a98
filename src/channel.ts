// Channel: one AMQP channel and every API.md channel method. It owns the
// channel's state (opening → open → closing → closed), its queue of
// synchronous calls, the consumers, publisher confirms and the assembly of
// incoming content. It writes through the connection's FrameWriter and
// never touches the socket.

import {
  BASIC_ACK,
  BASIC_CANCEL,
  BASIC_CANCEL_OK,
  BASIC_CONSUME_OK,
  BASIC_DELIVER,
  BASIC_GET_EMPTY,
  BASIC_GET_OK,
  BASIC_NACK,
  BASIC_QOS_OK,
  BASIC_RECOVER_OK,
  BASIC_RETURN,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_FLOW,
  CHANNEL_FLOW_OK,
  CHANNEL_OPEN_OK,
  CONFIRM_SELECT_OK,
  EXCHANGE_BIND_OK,
  EXCHANGE_DECLARE_OK,
  EXCHANGE_DELETE_OK,
  EXCHANGE_UNBIND_OK,
  QUEUE_BIND_OK,
  QUEUE_DECLARE_OK,
  QUEUE_DELETE_OK,
  QUEUE_PURGE_OK,
  QUEUE_UNBIND_OK,
  METHOD_INFO,
  encodeBasicAck,
  encodeBasicCancel,
  encodeBasicCancelOk,
  encodeBasicConsume,
  encodeBasicGet,
  encodeBasicNack,
  encodeBasicQos,
  encodeBasicRecover,
  encodeBasicRecoverAsync,
  encodeBasicReject,
  encodeChannelClose,
  encodeChannelCloseOk,
  encodeChannelFlow,
  encodeChannelFlowOk,
  encodeChannelOpen,
  encodeConfirmSelect,
  encodeExchangeBind,
  encodeExchangeDeclare,
  encodeExchangeDelete,
  encodeExchangeUnbind,
  encodeQueueBind,
  encodeQueueDeclare,
  encodeQueueDelete,
  encodeQueuePurge,
  encodeQueueUnbind,
  type BasicDeliver,
  type BasicGetOk,
  type BasicProperties,
  type BasicPropertiesInit,
  type BasicReturn,
  type ChannelClose,
  type IncomingMethod,
  type MethodId,
} from '../generated/index.js';
import {
  AmqpClosedConnection,
  ChannelClosed,
  DuplicateConsumerTag,
  EmptyQueue,
  FrameError,
  MessageReturned,
  SynchronizationError,
} from './errors.js';
import type { Writer } from './wire/index.js';
import { Consumer, type ConsumerCallback, type ConsumerHost } from './consumer.js';
import { ConfirmTracker } from './confirms.js';
import { Envelope, ReturnEnvelope, type GetResult } from './envelope.js';
import { ContentAssembler } from './framing/content.js';
import { PublishFrameCache } from './framing/frame-writer.js';
import { RpcQueue, pendingCall, type Content } from './rpc.js';
import { UnackedTags } from './unacked.js';
import type { AmqpProtocol } from './connection.js';
import type {
  Timeout,
  NoWait,
  Args,
  QueueDeclareOptions,
  QueueDeleteOptions,
  ExchangeDeclareOptions,
  ExchangeDeleteOptions,
  BindOptions,
  QueueUnbindOptions,
  PurgeOptions,
  PublishOptions,
  QosOptions,
  ConsumeOptions,
  CancelOptions,
  GetOptions,
  NackOptions,
  RejectOptions,
  RecoverOptions,
  QueueDeclareResult,
} from './channel-options.js';

export type ChannelState = 'opening' | 'open' | 'closing' | 'closed';

export type ReturnCallback = (
  channel: Channel,
  body: Buffer,
  envelope: ReturnEnvelope,
  properties: BasicProperties,
) => void | Promise<void>;

export type CancellationCallback = (channel: Channel, consumerTag: string) => void | Promise<void>;

export interface ChannelOptions {
  returnCallback?: ReturnCallback | null;
  /** Milliseconds to wait for channel.open-ok. */
  timeout?: number;
}


/** How many cancelled consumer tags a channel remembers (to reject their late deliveries). */
const CANCELLED_MEMORY = 1024;

type Reply<K extends MethodId> = Extract<IncomingMethod, { id: K }>;

let tagCounter = 0;
const tagPrefix = `amqp091-${process.pid}-${Date.now().toString(36)}`;

/** A rejected promise that is not reported as unhandled if the caller ignores it (publish). */
function quietRejection(err: unknown): Promise<never> {
  const p = Promise.reject(err);
  p.catch(() => undefined);
  return p;
}

function checkTag(deliveryTag: unknown, what: string): number {
  if (typeof deliveryTag !== 'number' || !Number.isSafeInteger(deliveryTag) || deliveryTag < 0) {
    throw new TypeError(`${what}: deliveryTag must be an integer 0..2^53-1, got ${String(deliveryTag)}`);
  }
  return deliveryTag;
}

export class Channel {
  state: ChannelState = 'opening';
  /** Called with messages the broker returns (mandatory/immediate); without one they go to onError. */
  returnCallback: ReturnCallback | null;
  /** Whether the broker lets this channel receive deliveries (channel.flow). */
  flowActive = true;

  private readonly rpc = new RpcQueue();
  private readonly consumers = new Map<string, Consumer>();
  /** Recently cancelled tag → whether it was noAck. */
  private readonly cancelledTags = new Map<string, boolean>();
  private readonly cancellationCallbacks: CancellationCallback[] = [];
  private confirms: ConfirmTracker | null = null;
  private closeReason: ChannelClosed | null = null;
  private closeWaiter: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout | null } | null = null;
  /** Our channel.close is unanswered: keep the id reserved until close-ok. */
  private awaitingCloseOk = false;
  /** Highest delivery tag received (deliver, get-ok): acks above it cannot be ours. */
  private lastDeliveryTag = 0;
  /** Delivered tags still to be acked, nacked or rejected (lets in-order acks share one frame). */
  private readonly unacked = new UnackedTags();
  /** The last basic.publish frame this channel wrote, reused while exchange and key repeat. */
  private readonly publishCache = new PublishFrameCache();

  private readonly content: ContentAssembler;

  /** @internal Use `protocol.channel()`. */
  constructor(
    private readonly conn: AmqpProtocol,
    readonly channelId: number,
    options: ChannelOptions = {},
  ) {
    this.returnCallback = options.returnCallback ?? null;
    this.content = new ContentAssembler(
      channelId,
      (m, properties, body) => this.contentDone(m, properties, body),
      (envelope, properties, body) => this.deliveryDone(envelope, properties, body),
    );
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Whether publishes on this channel are confirmed (after confirmSelect). */
  get confirmMode(): boolean {
    return this.confirms !== null;
  }

  // ---------------------------------------------------------------- errors

  /** The error for a call on this channel now that it cannot take one. */
  private closedError(): AmqpClosedConnection | ChannelClosed {
    const c = this.conn;
    if (c.state !== 'open') return c.closeError ?? new AmqpClosedConnection({ replyText: `connection is ${c.state}` });
    return this.closeReason ?? new ChannelClosed({ replyText: `channel ${this.channelId} is ${this.state}` });
  }

  private usable(): boolean {
    return this.state === 'open' && this.conn.state === 'open';
  }

  // ---------------------------------------------------------------- writing

  private write<T>(encode: (w: Writer, m: T) => void, m: T): void {
    const fw = this.conn.fw;
    const mark = fw.method(this.channelId);
    try {
      encode(fw.w, m);
      fw.end(mark);
    } catch (err) {
      fw.rollback(mark);
      throw err;
    }
  }

  private write0(encode: (w: Writer) => void): void {
    const fw = this.conn.fw;
    const mark = fw.method(this.channelId);
    encode(fw.w);
    fw.end(mark);
  }

  /**
   * Queue a synchronous method (written when the calls before it are
   * answered) and wait for one of `expects`. Every failure rejects the
   * promise, none throws.
   */
  private call<K extends MethodId>(
    name: string,
    expects: readonly K[],
    timeout: number | undefined,
    send: () => void,
    opening = false,
  ): Promise<Reply<K>> {
    return new Promise<Reply<K>>((resolve, reject) => {
      if (!(opening ? this.state === 'opening' && this.conn.state === 'open' : this.usable())) {
        reject(this.closedError());
        return;
      }
      this.rpc.enqueue(
        pendingCall(name, expects, send, (m) => resolve(m as Reply<K>), reject),
        timeout,
      );
    });
  }

  /**
   * Queue a method with no-wait set (in order with the synchronous ones):
   * resolves once it is handed to the socket.
   */
  private sendNoWait(name: string, send: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.usable()) {
        reject(this.closedError());
        return;
      }
      this.rpc.enqueue(pendingCall(name, [], send, () => resolve(this.conn.fw.whenWritten()), reject), undefined);
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** @internal Sends channel.open; called by the protocol. */
  open(timeout?: number): Promise<void> {
    return this.call('channel.open', [CHANNEL_OPEN_OK], timeout, () => this.write(encodeChannelOpen, {}), true).then(
      () => {
        if (this.state === 'opening') this.state = 'open';
      },
      (err: unknown) => {
        if (this.state === 'opening') {
          // The broker may still open it: close it when open-ok comes late.
          this.state = 'closed';
          this.closeReason = new ChannelClosed({ replyText: 'channel.open failed', cause: err });
          if (this.conn.state === 'open') {
            this.awaitingCloseOk = true;
            try {
              this.write(encodeChannelClose, { replyCode: 0, replyText: 'open timed out', classId: 0, methodId: 0 });
            } catch {
              // connection going away
            }
          }
        }
        throw err;
      },
    );
  }

  /**
   * Close the channel (channel.close / close-ok). Always succeeds locally:
   * after `timeout` (default 2000 ms) the channel is marked closed anyway.
   */
  close(replyCode = 0, replyText = 'Normal Shutdown', o: Timeout = {}): Promise<void> {
    if (this.closeWaiter !== null) return this.closeWaiter.promise;
    if (this.state === 'closed' || this.conn.state !== 'open') {
      if (this.state !== 'closed') this.finish(this.closedError());
      return Promise.resolve();
    }
    this.state = 'closing';
    this.rpc.failUnsent(new ChannelClosed({ replyText: 'channel closed by the client before the request was sent' }));
    let resolve!: () => void;
    const promise = new Promise<void>((res) => (resolve = res));
    const waiter = { promise, resolve, timer: null as NodeJS.Timeout | null };
    this.closeWaiter = waiter;
    this.awaitingCloseOk = true;
    try {
      this.write(encodeChannelClose, { replyCode, replyText, classId: 0, methodId: 0 });
    } catch (err) {
      // Bad replyCode/replyText: close with defaults instead, and still close.
      this.write(encodeChannelClose, { replyCode: 0, replyText: 'Normal Shutdown', classId: 0, methodId: 0 });
      void err;
    }
    const timeout = o.timeout ?? 2000;
    waiter.timer = setTimeout(() => {
      waiter.timer = null;
      this.finish(new ChannelClosed({ replyText: 'channel closed by the client (close-ok timed out)' }));
    }, timeout);
    waiter.timer.unref?.();
    return promise;
  }

  /**
   * Mark the channel closed: fail what waits, drop consumers, resolve a
   * pending close(). Releases the channel id unless close-ok is still due.
   */
  private finish(reason: AmqpClosedConnection | ChannelClosed): void {
    if (this.state === 'closed' && this.closeWaiter === null) {
      this.releaseIfDone();
      return;
    }
    this.state = 'closed';
    if (reason instanceof ChannelClosed) this.closeReason = reason;
    else this.closeReason ??= new ChannelClosed({ replyText: 'connection closed', cause: reason });
    this.rpc.failAll(reason);
    this.confirms?.failAll(reason);
    for (const c of this.consumers.values()) {
      c.state = 'cancelled';
      c.takeBuffered();
    }
    this.consumers.clear();
    this.cancelledTags.clear();
    this.unacked.reset();
    this.content.reset();
    const w = this.closeWaiter;
    this.closeWaiter = null;
    if (w !== null) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.resolve();
    }
    this.releaseIfDone();
  }

  private releaseIfDone(): void {
    if (!this.awaitingCloseOk) this.conn.releaseChannel(this);
  }

  /** @internal The connection is gone. */
  connectionLost(err: AmqpClosedConnection): void {
    this.awaitingCloseOk = false;
    this.finish(err);
  }

  // ---------------------------------------------------------------- incoming

  /** @internal A method frame for this channel. */
  onMethod(m: IncomingMethod): void {
    if (this.content.busy) {
      throw new FrameError(`channel ${this.channelId}: ${METHOD_INFO[m.id].name} arrived while a content body was expected`, 505);
    }
    if (this.state === 'closed') {
      // Only close-ok (ours, late) or close (crossing) matter now.
      if (m.id === CHANNEL_CLOSE_OK) {
        this.awaitingCloseOk = false;
        this.releaseIfDone();
      } else if (m.id === CHANNEL_CLOSE) {
        this.write0(encodeChannelCloseOk);
      } else if (METHOD_INFO[m.id].hasContent) {
        this.content.start(m); // assemble and drop
      } else if (m.id === CHANNEL_OPEN_OK && this.awaitingCloseOk) {
        // late open-ok: our channel.close is already on its way
      }
      return;
    }
    switch (m.id) {
      case BASIC_DELIVER:
      case BASIC_RETURN:
      case BASIC_GET_OK:
        this.content.start(m);
        return;
      case BASIC_ACK:
        this.confirms?.ack(m.args.deliveryTag, m.args.multiple);
        return;
      case BASIC_NACK:
        this.confirms?.nack(m.args.deliveryTag, m.args.multiple);
        return;
      case BASIC_CANCEL:
        this.cancelledByServer(m.args.consumerTag, m.args.noWait);
        return;
      case CHANNEL_CLOSE:
        this.closedByServer(m.args);
        return;
      case CHANNEL_CLOSE_OK:
        if (this.state === 'closing') {
          this.awaitingCloseOk = false;
          this.finish(new ChannelClosed({ replyText: 'channel closed by the client' }));
          return;
        }
        break;
      case CHANNEL_FLOW:
        this.flowActive = m.args.active;
        this.write(encodeChannelFlowOk, { active: m.args.active });
        return;
      default:
        break;
    }
    this.reply(m, null);
  }

  /** @internal A basic.deliver for this channel, decoded straight into its Envelope. */
  onDeliver(envelope: Envelope): void {
    if (this.content.busy) {
      throw new FrameError(`channel ${this.channelId}: basic.deliver arrived while a content body was expected`, 505);
    }
    // Assembled in every state; dropped on completion unless open.
    this.content.startDelivery(envelope);
  }

  /** @internal A body frame split across socket chunks begins: where its payload goes. */
  bodySink(size: number): ContentAssembler {
    this.content.bodyStart(size);
    return this.content;
  }

  /** @internal A content header for this channel. */
  onHeader(classId: number, bodySize: number, properties: BasicProperties): void {
    this.content.header(classId, bodySize, properties);
  }

  /** @internal A body frame for this channel: `buf[start, end)`. */
  onBody(buf: Buffer, start: number, end: number): void {
    this.content.bodyFrame(buf, start, end);
  }

  private contentDone(m: IncomingMethod, properties: BasicProperties, body: Buffer): void {
    if (this.state === 'closed') return;
    // While closing, deliveries and returns are dropped (the broker requeues).
    if (this.state !== 'open' && m.id !== BASIC_GET_OK) return;
    switch (m.id) {
      case BASIC_DELIVER: {
        const a: BasicDeliver = m.args;
        this.deliver(new Envelope(a.consumerTag, a.deliveryTag, a.exchange, a.routingKey, a.redelivered), body, properties);
        return;
      }
      case BASIC_RETURN:
        this.returned(m.args, body, properties);
        return;
      default:
        this.reply(m, { properties, body });
    }
  }

  private deliveryDone(envelope: Envelope, properties: BasicProperties, body: Buffer): void {
    // While closing, deliveries are dropped (the broker requeues).
    if (this.state !== 'open') return;
    this.deliver(envelope, body, properties);
  }

  /** A reply to the call at the head of the queue. */
  private reply(m: IncomingMethod, content: Content | null): void {
    const call = this.rpc.take(m.id);
    if (call === undefined) {
      const waiting = this.rpc.headName();
      throw new SynchronizationError(
        `channel ${this.channelId}: received ${METHOD_INFO[m.id].name} while ${waiting === undefined ? 'no call was waiting' : `waiting for the reply to ${waiting}`}`,
      );
    }
    if (call !== null) call.settle(m, content);
  }

  private closedByServer(a: ChannelClose): void {
    // Answer, then fail everything with the broker's reason. If our own
    // close crossed this one, the id stays reserved until its close-ok.
    this.write0(encodeChannelCloseOk);
    const err = new ChannelClosed({ code: a.replyCode, replyText: a.replyText, classId: a.classId, methodId: a.methodId });
    this.finish(err);
  }

  private deliver(e: Envelope, body: Buffer, properties: BasicProperties): void {
    const consumer = this.consumers.get(e.consumerTag);
    if (consumer === undefined || consumer.state === 'cancelling') {
      const noAck = consumer?.noAck ?? this.cancelledTags.get(e.consumerTag);
      if (noAck === undefined) {
        throw new FrameError(`channel ${this.channelId}: delivery for consumer tag '${e.consumerTag}' that this channel never had`, 503);
      }
      // Race with basicCancel: give the message back, quietly.
      if (!noAck) this.write(encodeBasicReject, { deliveryTag: e.deliveryTag, requeue: true });
      return;
    }
    if (e.deliveryTag > this.lastDeliveryTag) this.lastDeliveryTag = e.deliveryTag;
    if (!consumer.noAck) this.unacked.push(e.deliveryTag);
    consumer.deliver(body, e, properties);
  }

  private returned(a: BasicReturn, body: Buffer, properties: BasicProperties): void {
    const envelope = new ReturnEnvelope(a.replyCode, a.replyText, a.exchange, a.routingKey);
    const cb = this.returnCallback;
    if (cb === null) {
      this.conn.report(new MessageReturned(a.replyCode, a.replyText, a.exchange, a.routingKey, body, properties));
      return;
    }
    this.runCallback(() => cb(this, body, envelope, properties));
  }

  private cancelledByServer(tag: string, noWait: boolean): void {
    const consumer = this.consumers.get(tag);
    if (!noWait) this.write(encodeBasicCancelOk, { consumerTag: tag });
    if (consumer === undefined) return;
    this.consumers.delete(tag);
    this.rememberCancelled(tag, consumer.noAck);
    consumer.state = 'cancelled';
    consumer.pump();
    for (const cb of this.cancellationCallbacks) this.runCallback(() => cb(this, tag));
  }

  private rememberCancelled(tag: string, noAck: boolean): void {
    this.cancelledTags.set(tag, noAck);
    if (this.cancelledTags.size > CANCELLED_MEMORY) {
      const oldest = this.cancelledTags.keys().next().value;
      if (oldest !== undefined) this.cancelledTags.delete(oldest);
    }
  }

  /** Run a user callback; whatever it throws or rejects goes to onError. */
  private runCallback(f: () => void | Promise<void>): void {
    try {
      const r = f();
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, (err: unknown) => this.conn.report(err));
    } catch (err) {
      this.conn.report(err);
    }
  }

  /** @internal For the consumers. */
  readonly consumerHost: ConsumerHost = {
    channel: this,
    report: (err: unknown) => this.conn.report(err),
  };

  // ---------------------------------------------------------------- queue

  queueDeclare(queueName = '', o: QueueDeclareOptions = {}): Promise<QueueDeclareResult> {
    const send = (): void =>
      this.write(encodeQueueDeclare, {
        queue: queueName,
        passive: o.passive ?? false,
        durable: o.durable ?? false,
        exclusive: o.exclusive ?? false,
        autoDelete: o.autoDelete ?? false,
        noWait: o.noWait ?? false,
        arguments: o.arguments ?? {},
      });
    if (o.noWait) return this.sendNoWait('queue.declare', send).then(() => ({ queue: queueName, messageCount: 0, consumerCount: 0 }));
    return this.call('queue.declare', [QUEUE_DECLARE_OK], o.timeout, send).then((m) => ({
      queue: m.args.queue,
      messageCount: m.args.messageCount,
      consumerCount: m.args.consumerCount,
    }));
  }

  queueDelete(queueName: string, o: QueueDeleteOptions = {}): Promise<{ messageCount: number }> {
    const send = (): void =>
      this.write(encodeQueueDelete, {
        queue: queueName,
        ifUnused: o.ifUnused ?? false,
        ifEmpty: o.ifEmpty ?? false,
        noWait: o.noWait ?? false,
      });
    if (o.noWait) return this.sendNoWait('queue.delete', send).then(() => ({ messageCount: 0 }));
    return this.call('queue.delete', [QUEUE_DELETE_OK], o.timeout, send).then((m) => ({ messageCount: m.args.messageCount }));
  }

  queueBind(queueName: string, exchangeName: string, routingKey: string, o: BindOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeQueueBind, {
        queue: queueName,
        exchange: exchangeName,
        routingKey,
        noWait: o.noWait ?? false,
        arguments: o.arguments ?? {},
      });
    if (o.noWait) return this.sendNoWait('queue.bind', send);
    return this.call('queue.bind', [QUEUE_BIND_OK], o.timeout, send).then(() => undefined);
  }

  queueUnbind(queueName: string, exchangeName: string, routingKey: string, o: QueueUnbindOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeQueueUnbind, { queue: queueName, exchange: exchangeName, routingKey, arguments: o.arguments ?? {} });
    return this.call('queue.unbind', [QUEUE_UNBIND_OK], o.timeout, send).then(() => undefined);
  }

  queuePurge(queueName: string, o: PurgeOptions = {}): Promise<{ messageCount: number }> {
    const send = (): void => this.write(encodeQueuePurge, { queue: queueName, noWait: o.noWait ?? false });
    if (o.noWait) return this.sendNoWait('queue.purge', send).then(() => ({ messageCount: 0 }));
    return this.call('queue.purge', [QUEUE_PURGE_OK], o.timeout, send).then((m) => ({ messageCount: m.args.messageCount }));
  }

  // ---------------------------------------------------------------- exchange

  exchangeDeclare(exchangeName: string, typeName = 'direct', o: ExchangeDeclareOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeExchangeDeclare, {
        exchange: exchangeName,
        type: typeName,
        passive: o.passive ?? false,
        durable: o.durable ?? false,
        autoDelete: o.autoDelete ?? false,
        internal: o.internal ?? false,
        noWait: o.noWait ?? false,
        arguments: o.arguments ?? {},
      });
    if (o.noWait) return this.sendNoWait('exchange.declare', send);
    return this.call('exchange.declare', [EXCHANGE_DECLARE_OK], o.timeout, send).then(() => undefined);
  }

  exchangeDelete(exchangeName: string, o: ExchangeDeleteOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeExchangeDelete, { exchange: exchangeName, ifUnused: o.ifUnused ?? false, noWait: o.noWait ?? false });
    if (o.noWait) return this.sendNoWait('exchange.delete', send);
    return this.call('exchange.delete', [EXCHANGE_DELETE_OK], o.timeout, send).then(() => undefined);
  }

  exchangeBind(exchangeDestination: string, exchangeSource: string, routingKey: string, o: BindOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeExchangeBind, {
        destination: exchangeDestination,
        source: exchangeSource,
        routingKey,
        noWait: o.noWait ?? false,
        arguments: o.arguments ?? {},
      });
    if (o.noWait) return this.sendNoWait('exchange.bind', send);
    return this.call('exchange.bind', [EXCHANGE_BIND_OK], o.timeout, send).then(() => undefined);
  }

  exchangeUnbind(exchangeDestination: string, exchangeSource: string, routingKey: string, o: BindOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeExchangeUnbind, {
        destination: exchangeDestination,
        source: exchangeSource,
        routingKey,
        noWait: o.noWait ?? false,
        arguments: o.arguments ?? {},
      });
    if (o.noWait) return this.sendNoWait('exchange.unbind', send);
    return this.call('exchange.unbind', [EXCHANGE_UNBIND_OK], o.timeout, send).then(() => undefined);
  }

  // ---------------------------------------------------------------- publish

  /**
   * Publish a message. Without confirms, resolves once its frames are
   * handed to the socket and the socket's buffer is below its high-water
   * mark; in confirm mode, on the broker's ack (nack → `PublishFailed`).
   * While the connection is blocked, waits for unblocked. A Uint8Array
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
    if (this.conn.blocked !== null && this.usable()) {
      const held = new Promise<void>((resolve, reject) => {
        this.conn.holdPublish(() => this.publishNow(payload, exchangeName, routingKey, properties, o).then(resolve, reject), reject);
      });
      held.catch(() => undefined);
      return held;
    }
    return this.publishNow(payload, exchangeName, routingKey, properties, o);
  }

  /** Alias of `publish`. */
  basicPublish(
    payload: string | Uint8Array,
    exchangeName: string,
    routingKey: string,
    properties?: BasicPropertiesInit,
    o?: PublishOptions,
  ): Promise<void> {
    return this.publish(payload, exchangeName, routingKey, properties, o);
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
    try {
      fw.publish(this.channelId, this.publishCache, exchangeName, routingKey, flags, properties, body);
    } catch (err) {
      return quietRejection(err);
    }
    if (this.confirms !== null) return this.confirms.register();
    return fw.whenWritten();
  }

  // ---------------------------------------------------------------- basic

  basicQos(o: QosOptions = {}): Promise<void> {
    const send = (): void =>
      this.write(encodeBasicQos, {
        prefetchSize: o.prefetchSize ?? 0,
        prefetchCount: o.prefetchCount ?? 0,
        global: o.connectionGlobal ?? false,
      });
    return this.call('basic.qos', [BASIC_QOS_OK], o.timeout, send).then(() => undefined);
  }

  /**
   * Start a consumer. The callback never runs before this promise has
   * resolved; deliveries reach it in order, `concurrency` at a time.
   */
  basicConsume(callback: ConsumerCallback, o: ConsumeOptions = {}): Promise<{ consumerTag: string }> {
    if (typeof callback !== 'function') return Promise.reject(new TypeError('basicConsume: callback must be a function'));
    const concurrency = o.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return Promise.reject(new TypeError(`basicConsume: concurrency must be a positive integer, got ${String(concurrency)}`));
    }
    if (!this.usable()) return Promise.reject(this.closedError());
    const tag = o.consumerTag || `${tagPrefix}-${this.channelId}-${++tagCounter}`;
    if (this.consumers.has(tag)) {
      return Promise.reject(new DuplicateConsumerTag(`consumer tag '${tag}' is already active on channel ${this.channelId}`));
    }
    const noAck = o.noAck ?? false;
    const consumer = new Consumer(tag, callback, concurrency, noAck, this.consumerHost);
    const send = (): void =>
      this.write(encodeBasicConsume, {
        queue: o.queueName ?? '',
        consumerTag: tag,
        noLocal: o.noLocal ?? false,
        noAck,
        exclusive: o.exclusive ?? false,
        noWait: o.noWait ?? false,
        arguments: o.arguments ?? {},
      });
    this.consumers.set(tag, consumer);
    this.cancelledTags.delete(tag);
    const started = (): { consumerTag: string } => {
      // Let the caller's continuation run first, then start calling back.
      setImmediate(() => consumer.activate());
      return { consumerTag: tag };
    };
    const failed = (err: unknown): never => {
      if (this.consumers.get(tag) === consumer) {
        if (this.usable()) {
          // Timed out: the broker may still start it, so cancel it.
          consumer.state = 'cancelling';
          this.rememberCancelled(tag, noAck);
          this.call('basic.cancel', [BASIC_CANCEL_OK], undefined, () =>
            this.write(encodeBasicCancel, { consumerTag: tag, noWait: false }),
          ).then(
            () => this.consumers.get(tag) === consumer && this.consumers.delete(tag),
            () => undefined,
          );
        } else {
          this.consumers.delete(tag);
        }
      }
      throw err;
    };
    if (o.noWait) return this.sendNoWait('basic.consume', send).then(started, failed);
    return this.call('basic.consume', [BASIC_CONSUME_OK], o.timeout, send).then(started, failed);
  }

  /**
   * Cancel a consumer. Deliveries it has buffered or that still arrive are
   * rejected with requeue (unless it is noAck), never passed to the callback.
   */
  basicCancel(consumerTag: string, o: CancelOptions = {}): Promise<void> {
    if (!this.usable()) return Promise.reject(this.closedError());
    const consumer = this.consumers.get(consumerTag);
    const send = (): void => {
      this.write(encodeBasicCancel, { consumerTag, noWait: o.noWait ?? false });
      if (consumer === undefined) return;
      // After the cancel, so that requeued messages do not come back to it.
      for (const d of consumer.takeBuffered()) {
        if (consumer.noAck) continue;
        this.unacked.settle(d.envelope.deliveryTag);
        this.write(encodeBasicReject, { deliveryTag: d.envelope.deliveryTag, requeue: true });
      }
    };
    if (consumer !== undefined) {
      consumer.state = 'cancelling';
      this.rememberCancelled(consumerTag, consumer.noAck);
    }
    const p = o.noWait ? this.sendNoWait('basic.cancel', send) : this.call('basic.cancel', [BASIC_CANCEL_OK], o.timeout, send);
    const done = (): void => {
      if (consumer !== undefined && this.consumers.get(consumerTag) === consumer) {
        this.consumers.delete(consumerTag);
        consumer.state = 'cancelled';
      }
    };
    return p.then(done);
  }

  /** Get one message; rejects `EmptyQueue` when the queue is empty. */
  basicGet(queueName = '', o: GetOptions = {}): Promise<GetResult> {
    return new Promise<GetResult>((resolve, reject) => {
      if (!this.usable()) {
        reject(this.closedError());
        return;
      }
      const send = (): void => this.write(encodeBasicGet, { queue: queueName, noAck: o.noAck ?? false });
      const settle = (m: IncomingMethod | null, content: Content | null): void => {
        if (m === null || m.id !== BASIC_GET_OK || content === null) {
          reject(new EmptyQueue(`queue '${queueName}' is empty`));
          return;
        }
        const a: BasicGetOk = m.args;
        if (a.deliveryTag > this.lastDeliveryTag) this.lastDeliveryTag = a.deliveryTag;
        if (!(o.noAck ?? false)) this.unacked.push(a.deliveryTag);
        resolve({
          message: content.body,
          properties: content.properties,
          deliveryTag: a.deliveryTag,
          redelivered: a.redelivered,
          exchangeName: a.exchange,
          routingKey: a.routingKey,
          messageCount: a.messageCount,
        });
      };
      this.rpc.enqueue(pendingCall('basic.get', [BASIC_GET_OK, BASIC_GET_EMPTY], send, settle, reject), o.timeout);
    });
  }

  /**
   * Throws (synchronously) on a closed channel or a bad tag. A tag above
   * any this channel has delivered cannot be ours (tags are per channel):
   * sending it would make the broker close the channel with 406. A
   * foreign tag at or below that cannot be told apart without tracking
   * every unacked tag, which this does not do.
   */
  private checkWritable(what: string, deliveryTag: unknown): number {
    const tag = checkTag(deliveryTag, what);
    if (!this.usable()) throw this.closedError();
    if (tag > this.lastDeliveryTag) {
      throw new TypeError(
        `${what}: delivery tag ${tag} was never delivered on channel ${this.channelId} (highest so far: ${this.lastDeliveryTag})`,
      );
    }
    return tag;
  }

  /**
   * Ack a delivery. Acks made in delivery order within one event-loop turn
   * reach the broker as a single `basic.ack(multiple)` covering exactly
   * the same messages (see FrameWriter.widenAck).
   */
  basicClientAck(deliveryTag: number, multiple = false): void {
    const tag = this.checkWritable('basicClientAck', deliveryTag);
    const unacked = this.unacked;
    if (multiple) {
      unacked.settleUpTo(tag);
      this.write(encodeBasicAck, { deliveryTag: tag, multiple: true });
      return;
    }
    const fw = this.conn.fw;
    if (tag !== 0 && unacked.oldest() === tag) {
      unacked.shift();
      if (!fw.widenAck(this.channelId, tag)) fw.ack(this.channelId, tag, true);
      return;
    }
    // Out of order, or not outstanding (the broker will say so): an ack of its own.
    unacked.settle(tag);
    fw.ack(this.channelId, tag, false);
  }

  basicClientNack(deliveryTag: number, o: NackOptions = {}): void {
    const tag = this.checkWritable('basicClientNack', deliveryTag);
    const multiple = o.multiple ?? false;
    if (multiple) this.unacked.settleUpTo(tag);
    else this.unacked.settle(tag);
    this.write(encodeBasicNack, { deliveryTag: tag, multiple, requeue: o.requeue ?? true });
  }

  basicReject(deliveryTag: number, o: RejectOptions = {}): void {
    const tag = this.checkWritable('basicReject', deliveryTag);
    this.unacked.settle(tag);
    this.write(encodeBasicReject, { deliveryTag: tag, requeue: o.requeue ?? false });
  }

  basicRecover(o: RecoverOptions = {}): Promise<void> {
    const send = (): void => {
      this.write(encodeBasicRecover, { requeue: o.requeue ?? true });
      this.unacked.reset(); // redelivered under new tags
    };
    return this.call('basic.recover', [BASIC_RECOVER_OK], o.timeout, send).then(() => undefined);
  }

  basicRecoverAsync(o: { requeue?: boolean } = {}): void {
    if (!this.usable()) throw this.closedError();
    this.write(encodeBasicRecoverAsync, { requeue: o.requeue ?? true });
    this.unacked.reset();
  }

  /** Put the channel in confirm mode: from now on publish resolves on the broker's ack. */
  confirmSelect(o: NoWait & Timeout = {}): Promise<void> {
    // Confirm mode counts the publishes written after select: start
    // numbering exactly when select is written.
    const send = (): void => {
      this.write(encodeConfirmSelect, { noWait: o.noWait ?? false });
      this.confirms ??= new ConfirmTracker();
    };
    if (o.noWait) return this.sendNoWait('confirm.select', send);
    return this.call('confirm.select', [CONFIRM_SELECT_OK], o.timeout, send).then(() => undefined);
  }

  flow(active: boolean, o: Timeout = {}): Promise<void> {
    const send = (): void => this.write(encodeChannelFlow, { active });
    return this.call('channel.flow', [CHANNEL_FLOW_OK], o.timeout, send).then(() => undefined);
  }

  addCancellationCallback(cb: CancellationCallback): void {
    this.cancellationCallbacks.push(cb);
  }

  /** Active consumer tags (for diagnostics). */
  get consumerTags(): string[] {
    return [...this.consumers.keys()];
  }
}
