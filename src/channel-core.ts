// ChannelCore: the machinery under the public Channel. It owns the
// channel's state (opening → open → closing → closed), the queue of
// synchronous requests, the consumers, acks and publisher confirms, and
// takes the channel's incoming methods and messages from the inbound
// router. It writes through its host's FrameWriter and never touches the
// socket. The public methods are in channel.ts.

import {
  BASIC_ACK,
  BASIC_CANCEL,
  BASIC_NACK,
  BASIC_RETURN,
  encodeBasicCancelOk,
  encodeBasicReject,
  type BasicProperties,
  type BasicReturn,
} from '../generated/basic.js';
import {
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_FLOW,
  CHANNEL_OPEN,
  encodeChannelClose,
  encodeChannelCloseOk,
  encodeChannelFlowOk,
  type ChannelClose,
} from '../generated/channel.js';
import { BASIC_GET_OK } from '../generated/basic.js';
import { METHOD_INFO, methodName, type IncomingMethod } from '../generated/dispatch.js';
import type { RequestId } from '../generated/requests.js';
import { EventEmitter } from 'node:events';
import { AmqpClosedConnection, ChannelClosed, FrameError, SynchronizationError } from './errors.js';
import { MessageReturned } from './message-returned.js';
import { DeliveryAcks } from './acks.js';
import { emitEach, type ChannelEvents } from './channel-events.js';
import type { ChannelHost } from './channel-host.js';
import type { CancellationCallbackOf, ChannelState, ReturnCallbackOf } from './channel-types.js';
import type { ConfirmTracker } from './confirms.js';
import { ConsumerRegistry } from './consumers.js';
import { ContentAssembler, type ContentTarget } from './framing/content.js';
import { ReturnEnvelope, type Envelope } from './framing/envelope.js';
import type { MethodEncoder } from './framing/frame-writer.js';
import type { InboundChannel } from './framing/inbound.js';
import { settleReturned } from './publish-outcome.js';
import { RpcQueue, type RpcHost } from './rpc.js';


/** `Self` is the public channel class, which consumer and return callbacks receive. */
export abstract class ChannelCore<Self> extends EventEmitter<ChannelEvents> implements InboundChannel, ContentTarget, RpcHost {
  /** 'opening' → 'open' → 'closing' → 'closed'. */
  state: ChannelState = 'opening';
  /** Called with messages the broker returns (mandatory/immediate); without one they go to onError. */
  returnCallback: ReturnCallbackOf<Self> | null = null;
  /** Whether the broker lets this channel publish (channel.flow from the broker): while false, publishes wait. */
  flowActive = true;
  /** Resolves (never rejects) when the channel ends, with what 'close' gives: the error, or null when the user closed it. */
  readonly closed: Promise<Error | null>;
  private markClosed!: (err: Error | null) => void;
  /** The user called close() on this channel. */
  private closeAsked = false;

  /** @internal Assembles this channel's incoming messages (driven by the inbound router). */
  readonly content: ContentAssembler;
  protected readonly rpc = new RpcQueue(this);
  protected readonly consumers = new ConsumerRegistry<Self>();
  protected readonly acks: DeliveryAcks;
  protected confirms: ConfirmTracker | null = null;
  protected readonly cancellationCallbacks: CancellationCallbackOf<Self>[] = [];
  /** Recovery is opening this channel again: a channel.close from the broker fails only the replayed request. */
  protected replaying = false;
  protected closedInReplay: ChannelClosed | null = null;
  private closeReason: ChannelClosed | null = null;
  private closeWaiter: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout | null } | null = null;
  /** Our channel.close is unanswered: keep the id reserved until close-ok. */
  private awaitingCloseOk = false;

  protected constructor(
    protected readonly conn: ChannelHost,
    /** The channel's id on its connection (1..channel-max). */
    readonly channelId: number,
  ) {
    super();
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.content = new ContentAssembler(channelId, this);
    this.acks = new DeliveryAcks(channelId, conn.fw, conn.ackFrames);
  }

  /** The public channel object (this, typed as the subclass). */
  protected abstract get self(): Self;

  /** Whether the channel takes calls: open (and not closing). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Whether publishes on this channel are confirmed (after confirmSelect). */
  get confirmMode(): boolean {
    return this.confirms !== null;
  }

  /** Active consumer tags (for diagnostics). */
  get consumerTags(): string[] {
    return this.consumers.tags();
  }


  // ---------------------------------------------------------------- requests

  /** @internal RpcHost: channel.open while opening, everything else while open. */
  accepts(id: RequestId): boolean {
    if (id === CHANNEL_OPEN) return this.state === 'opening' && this.conn.state === 'open';
    return this.accepting();
  }

  /** Open, on a connection that is open or recovering: calls are taken (and wait while recovering). */
  protected accepting(): boolean {
    return this.state === 'open' && (this.conn.state === 'open' || this.conn.state === 'recovering');
  }

  /** @internal The error for a call on this channel now that it cannot take one. */
  closedError(): AmqpClosedConnection | ChannelClosed {
    const c = this.conn;
    if (c.state !== 'open' && c.state !== 'recovering') return c.closeError ?? new AmqpClosedConnection({ replyText: `connection is ${c.state}` });
    return this.closeReason ?? new ChannelClosed({ replyText: `channel ${this.channelId} is ${this.state}` });
  }

  /** @internal Write one method frame on this channel. */
  write<T>(encode: MethodEncoder<T>, args: T): void {
    this.conn.fw.writeMethod(this.channelId, encode, args);
  }

  /** @internal Resolves once what was written is handed to the socket. */
  whenWritten(): Promise<void> {
    return this.conn.fw.whenWritten();
  }

  /** @internal Whether this channel waits for the broker (a reply, a confirm, close-ok): its connection must keep reading. */
  get awaitingReply(): boolean {
    return this.state === 'closing' || this.rpc.headName() !== undefined || (this.confirms?.waiting ?? 0) > 0;
  }

  protected usable(): boolean {
    return this.state === 'open' && this.conn.state === 'open';
  }

  // ---------------------------------------------------------------- lifecycle

  /** @internal Sends channel.open; called by the protocol. */
  open(timeout?: number, signal?: AbortSignal): Promise<void> {
    return this.rpc.request(CHANNEL_OPEN, {}, { timeout, signal }).then(
      () => {
        if (this.state === 'opening') this.state = 'open';
      },
      (err: unknown) => {
        if (this.state === 'opening') {
          // The broker may still open it: close it when open-ok comes late.
          this.state = 'closed';
          this.closeReason = new ChannelClosed({ replyText: 'channel.open failed', cause: err });
          this.ended(this.closeReason);
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
   * Close the channel (channel.close / close-ok). Succeeds locally once
   * started: after `timeout` (default 2000 ms) the channel is marked closed
   * anyway. Rejects with the close error when the channel is already closed.
   */
  protected startClose(replyCode: number, replyText: string, timeout: number): Promise<void> {
    if (this.closeWaiter !== null) return this.closeWaiter.promise;
    if (this.state !== 'closed') this.closeAsked = true;
    if (this.state === 'open' && this.conn.state === 'recovering' && !this.conn.linkUp) {
      // Nothing to tell a broker that lost the channel with the link: it is closed here, and not replayed.
      this.finish(new ChannelClosed({ replyText: 'channel closed by the client' }));
      return Promise.resolve();
    }
    // A method on a closed channel rejects (API.md), close() included.
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (!this.conn.linkUp) {
      this.finish(this.closedError());
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
    } catch {
      // Bad replyCode/replyText: close with defaults instead, and still close.
      this.write(encodeChannelClose, { replyCode: 0, replyText: 'Normal Shutdown', classId: 0, methodId: 0 });
    }
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
    this.conn.failHeld(this, reason);
    this.confirms?.failAll(reason);
    this.consumers.closeAll(this.userAsked() ? null : reason);
    this.acks.reset();
    this.content.reset();
    const w = this.closeWaiter;
    this.closeWaiter = null;
    if (w !== null && w.timer !== null) clearTimeout(w.timer);
    this.releaseIfDone();
    this.ended(reason, w?.resolve);
  }

  /**
   * Tell the user, once: `closed` resolves and 'close' is emitted (null
   * when the user asked for the end), then a pending close() resolves. On
   * the next turn of the event loop, so that the rejections of the calls
   * that waited have reached the user's own promises and handlers first.
   */
  private ended(reason: Error, then?: () => void): void {
    const err = this.userAsked() ? null : reason;
    setImmediate(() => {
      this.markClosed(err);
      emitEach(this, (e) => this.conn.report(e), 'close', err);
      then?.();
    });
  }

  /** The user asked for this end (closed the channel or its connection): consumers and 'close' end quietly. */
  private userAsked(): boolean {
    return this.closeAsked || this.conn.userClosed;
  }

  private releaseIfDone(): void {
    if (!this.awaitingCloseOk) this.conn.releaseChannel(this);
  }

  /** @internal The connection is gone. */
  connectionLost(err: AmqpClosedConnection | ChannelClosed): void {
    this.awaitingCloseOk = false;
    this.finish(err);
  }

  // ---------------------------------------------------------------- incoming

  /** @internal A method frame for this channel that carries no content. */
  onMethod(m: IncomingMethod): void {
    if (this.state === 'closed') {
      // Only close-ok (ours, late) or close (crossing) matter now; a late
      // open-ok is answered by the channel.close already on its way.
      if (m.id === CHANNEL_CLOSE_OK) {
        this.awaitingCloseOk = false;
        this.releaseIfDone();
      } else if (m.id === CHANNEL_CLOSE) {
        this.write(encodeChannelCloseOk, undefined);
      }
      return;
    }
    switch (m.id) {
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
        // The broker pauses or resumes our publishes: held ones go out in order on resume.
        this.flowActive = m.args.active;
        this.write(encodeChannelFlowOk, { active: m.args.active });
        if (m.args.active) this.conn.releaseHeld();
        emitEach(this, (e) => this.conn.report(e), 'flow', m.args.active);
        return;
      default:
        break;
    }
    this.reply(m, null);
  }

  /** @internal ContentTarget: a complete basic.return or basic.get-ok. */
  onContent(m: IncomingMethod, properties: BasicProperties, body: Buffer): void {
    if (this.state === 'closed') return;
    if (m.id === BASIC_GET_OK) {
      this.reply(m, { properties, body });
      return;
    }
    // While closing, returns are dropped.
    if (this.state === 'open' && m.id === BASIC_RETURN) this.returned(m.args, body, properties);
  }

  /** @internal ContentTarget: a complete basic.deliver. */
  onDelivery(e: Envelope, properties: BasicProperties, body: Buffer): void {
    // While closing, deliveries are dropped (the broker requeues).
    if (this.state !== 'open') return;
    const route = this.consumers.route(e.consumerTag);
    if (typeof route === 'object') {
      // After a recovery the user's tags continue where the last link's ended.
      if (this.acks.base !== 0) (e as { deliveryTag: number }).deliveryTag += this.acks.base;
      this.acks.delivered(e.deliveryTag, !route.noAck);
      route.deliver(body, e, properties);
      return;
    }
    if (route === 'unknown') {
      throw new FrameError(`channel ${this.channelId}: delivery for consumer tag '${e.consumerTag}' that this channel never had`, 503);
    }
    // Race with basicCancel: give the message back, quietly.
    if (route === 'requeue') this.write(encodeBasicReject, { deliveryTag: e.deliveryTag, requeue: true });
  }

  /** A reply to the call at the head of the queue. */
  private reply(m: IncomingMethod, content: { properties: BasicProperties; body: Buffer } | null): void {
    if (this.rpc.reply(m, content)) return;
    const waiting = this.rpc.headName();
    throw new SynchronizationError(
      `channel ${this.channelId}: received ${METHOD_INFO[m.id].name} while ${waiting === undefined ? 'no call was waiting' : `waiting for the reply to ${waiting}`}`,
    );
  }

  private closedByServer(a: ChannelClose): void {
    // Answer, then fail everything with the broker's reason. If our own
    // close crossed this one, the id stays reserved until its close-ok.
    this.write(encodeChannelCloseOk, undefined);
    const method = a.classId === 0 ? undefined : methodName((a.classId << 16) | a.methodId);
    const err = new ChannelClosed({ code: a.replyCode, replyText: a.replyText, classId: a.classId, methodId: a.methodId, methodName: method });
    if (this.replaying) {
      // A replayed entity failed: only that request fails; recovery reopens the channel.
      this.closedInReplay = err;
      this.rpc.failSent(err);
      return;
    }
    this.finish(err);
  }

  private returned(a: BasicReturn, body: Buffer, properties: BasicProperties): void {
    // On a confirm channel a mandatory publish's return rejects that publish, and only it.
    if (this.confirms !== null && settleReturned(this.confirms, a, body, properties)) return;
    const envelope = new ReturnEnvelope(a.replyCode, a.replyText, a.exchange, a.routingKey);
    const cb = this.returnCallback;
    if (cb === null) {
      this.conn.report(new MessageReturned(a.replyCode, a.replyText, a.exchange, a.routingKey, body, properties));
      return;
    }
    this.runCallback(() => cb(this.self, body, envelope, properties));
  }

  private cancelledByServer(tag: string, noWait: boolean): void {
    const consumer = this.consumers.get(tag);
    if (!noWait) this.write(encodeBasicCancelOk, { consumerTag: tag });
    if (consumer === undefined) return;
    this.consumers.cancelledByServer(consumer);
    for (const cb of this.cancellationCallbacks) this.runCallback(() => cb(this.self, tag));
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
}
