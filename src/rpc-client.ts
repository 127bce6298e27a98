// RpcClient: request/reply over RabbitMQ's direct reply-to
// (`amq.rabbitmq.reply-to`), built only on the public Channel API. Each
// client has its own channel, which consumes the reply pseudo-queue
// (no-ack, as direct reply-to requires). A call publishes a `mandatory`
// request carrying `replyTo` and a fresh `correlationId`, then waits for
// the reply with that id; many calls may be in flight. A request that
// routes nowhere comes back as a basic.return and fails its call at once
// with MessageReturned. A reply whose correlationId is missing or matches
// no waiting call (a late reply, after a timeout or an abort) is dropped
// and counted in `droppedReplies`.
//
// The client depends on the small RpcProtocol interface rather than on
// AmqpProtocol, so that connection.ts can import this module without an
// import cycle.

import type { BasicProperties, BasicPropertiesInit } from '../generated/basic.js';
import type { Channel, ChannelOptions } from './channel.js';
import { ChannelClosed, TimeoutError } from './errors.js';
import type { Envelope, ReturnEnvelope } from './framing/envelope.js';
import { MessageReturned } from './message-returned.js';
import { rpcTrace, traced } from './tracing.js';

/** RabbitMQ's direct reply-to pseudo-queue. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
/** Default milliseconds a call waits for its reply. */
export const DEFAULT_RPC_TIMEOUT = 30_000;
/** While calls wait, how often the client checks that its channel is still open (ms). */
const MANDATORY = { mandatory: true } as const;
/** Node's longest timer; a longer timeout (Infinity included) means no timer. */
const MAX_TIMER = 2 ** 31 - 1;
const EMPTY = Buffer.alloc(0);

/** What the RPC client and server need of the connection (AmqpProtocol implements it). */
export interface RpcProtocol {
  channel(o?: ChannelOptions): Promise<Channel>;
  /** Hand an error nobody awaits to the connection's onError; never throws. */
  report(err: unknown): void;
}

/** Options of `protocol.rpcClient()`. */
export interface RpcClientOptions {
  /** Default milliseconds a call waits for its reply (default 30000; `Infinity`: no limit). */
  timeout?: number;
}

/** Options of one `call()`. */
export interface RpcCallOptions {
  /** Milliseconds to wait for the reply; rejects with `TimeoutError` after it (default: the client's). */
  timeout?: number;
  /** Aborting rejects the call with `signal.reason`; a reply that comes later is dropped. */
  signal?: AbortSignal;
}

/** What a call resolves with: the reply's body and properties (which carry the request's correlationId). */
export interface RpcReply {
  /** The reply's body. */
  body: Buffer;
  /** The reply's properties (`correlationId` is the request's). */
  properties: BasicProperties;
}

interface Waiting {
  resolve(reply: RpcReply): void;
  reject(err: unknown): void;
  /** When the call times out (performance.now() ms; Infinity: never). */
  deadline: number;
  /** What the TimeoutError says: the call's exchange, routing key and timeout. */
  exchange: string;
  routingKey: string;
  timeout: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

/** A positive number of milliseconds (Infinity allowed), else a TypeError. */
function checkTimeout(what: string, timeout: unknown): number {
  if (typeof timeout !== 'number' || !(timeout > 0)) {
    throw new TypeError(`${what}: timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  }
  return timeout;
}

/**
 * The error a call on `channel` gets now that the channel is not open:
 * ChannelClosed with the broker's code, or AmqpClosedConnection when the
 * connection is gone. A publish on a channel that is not open is rejected
 * with exactly that error and never written.
 */
function closedErrorOf(channel: Channel): Promise<unknown> {
  return channel.publish(EMPTY, '', '').then(
    () => new ChannelClosed({ replyText: `channel ${channel.channelId} is closed` }),
    (err: unknown) => err,
  );
}

/** Open an RPC client on its own channel of `protocol` (what `protocol.rpcClient()` does). */
export function openRpcClient(protocol: RpcProtocol, o: RpcClientOptions = {}): Promise<RpcClient> {
  return RpcClient.open(protocol, o);
}

/** Calls over direct reply-to; made by `protocol.rpcClient()`. */
export class RpcClient {
  private readonly waiting = new Map<string, Waiting>();
  /**
   * One timer for all waiting calls, due at the earliest deadline: a timer
   * per call cost a setTimeout and a clearTimeout each (~2.5 µs, a tenth
   * of a call's JS). Unref'd: a waiting call's socket keeps the process up.
   * It may outlive the calls it was set for; it then fires once, finds
   * nothing due, and stops.
   */
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private dropped = 0;
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly channel: Channel,
    private readonly timeout: number,
  ) {
    channel.returnCallback = this.onReturn;
    // The channel ending under waiting calls (a broker channel error, the connection going away)
    // fails them with its error rather than leaving them to their timeouts.
    void channel.closed.then((err) => err ?? closedErrorOf(channel)).then((err) => this.failAll(err));
  }

  /** @internal Open the channel and start consuming direct reply-to. */
  static async open(protocol: RpcProtocol, o: RpcClientOptions): Promise<RpcClient> {
    const timeout = checkTimeout('rpcClient', o.timeout ?? DEFAULT_RPC_TIMEOUT);
    const channel = await protocol.channel();
    const client = new RpcClient(channel, timeout);
    try {
      await channel.basicConsume(client.onReply, { queueName: DIRECT_REPLY_TO, noAck: true });
    } catch (err) {
      // The failure may have closed the channel already (a second close would reject and hide err).
      if (channel.state !== 'closed') await channel.close();
      throw err;
    }
    return client;
  }

  /** Replies dropped because their correlationId was missing or matched no waiting call (late replies included). */
  get droppedReplies(): number {
    return this.dropped;
  }

  /** Calls waiting for their reply. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Whether calls can be made: the client is not closed and its channel is open. */
  get isOpen(): boolean {
    return !this.closed && this.channel.isOpen;
  }

  /**
   * Publish a request (mandatory, with `replyTo` and a fresh
   * `correlationId` set on a copy of `properties`) and resolve with its
   * reply. Rejects with `TimeoutError` after `timeout`, with
   * `MessageReturned` when the request routes nowhere, with
   * `signal.reason` on abort (before anything is sent if already
   * aborted), with `ChannelClosed` when `close()` is called while it waits,
   * and like any call on a closed channel once the client is closed.
   */
  call(
    exchange: string,
    routingKey: string,
    body: string | Uint8Array,
    properties?: BasicPropertiesInit,
    o: RpcCallOptions = {},
  ): Promise<RpcReply> {
    const signal = o.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let timeout: number;
    try {
      timeout = o.timeout === undefined ? this.timeout : checkTimeout('call', o.timeout);
    } catch (err) {
      return Promise.reject(err);
    }
    const correlationId = (++this.seq).toString(36);
    const props: BasicPropertiesInit = { ...properties, replyTo: DIRECT_REPLY_TO, correlationId };
    if (rpcTrace.hasSubscribers) {
      return traced.rpc((p) => this.send(exchange, routingKey, body, p, correlationId, timeout, signal), exchange, routingKey, correlationId, props);
    }
    return this.send(exchange, routingKey, body, props, correlationId, timeout, signal);
  }

  /** One call: wait for the reply to `correlationId`, publish the request. */
  private send(
    exchange: string,
    routingKey: string,
    body: string | Uint8Array,
    props: BasicPropertiesInit,
    correlationId: string,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<RpcReply> {
    return new Promise<RpcReply>((resolve, reject) => {
      const deadline = timeout <= MAX_TIMER ? performance.now() + timeout : Infinity;
      const w: Waiting = { resolve, reject, deadline, exchange, routingKey, timeout, signal, onAbort: null };
      this.waiting.set(correlationId, w);
      if (deadline < this.timerDue) this.armTimer(deadline);
      if (signal !== undefined) {
        w.onAbort = () => this.fail(correlationId, signal.reason);
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.channel.publish(body, exchange, routingKey, props, MANDATORY).then(undefined, (err: unknown) => this.fail(correlationId, err));
    });
  }

  /**
   * Close the client: calls still waiting reject with `ChannelClosed`,
   * then its channel is closed. Later calls reject like calls on a closed
   * channel. Always resolves.
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.failAll(new ChannelClosed({ replyText: 'RPC client closed while the call waited for its reply' }));
    }
    // Its channel may already be closed (by the broker, the connection, or a first close()):
    // closing the client still resolves then, as documented.
    return this.channel.state === 'closed' ? Promise.resolve() : this.channel.close();
  }

  /** The direct reply-to consumer: settle the call the reply belongs to, or drop and count it. */
  private readonly onReply = (_ch: Channel, body: Buffer, _e: Envelope, properties: BasicProperties): void => {
    const id = properties.correlationId;
    const w = id === undefined ? undefined : this.waiting.get(id);
    if (w === undefined) {
      this.dropped++;
      return;
    }
    this.waiting.delete(id!);
    this.release(w);
    w.resolve({ body, properties });
  };

  /** A request came back unroutable: its call fails at once. */
  private readonly onReturn = (_ch: Channel, body: Buffer, e: ReturnEnvelope, properties: BasicProperties): void => {
    const id = properties.correlationId;
    if (id === undefined) return;
    this.fail(id, new MessageReturned(e.replyCode, e.replyText, e.exchangeName, e.routingKey, body, properties));
  };

  private fail(id: string, err: unknown): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    this.release(w);
    w.reject(err);
  }

  private failAll(err: unknown): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    this.stopTimer();
    for (const w of all) {
      this.release(w);
      w.reject(err);
    }
  }

  private release(w: Waiting): void {
    if (w.onAbort !== null) w.signal?.removeEventListener('abort', w.onAbort);
    w.onAbort = null;
  }

  /** Set the shared timer to fire at `due` (earlier than it was). */
  private armTimer(due: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(this.expire, Math.max(0, due - performance.now()));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  /** The shared timer fired: fail the calls that are due, then wait for the next deadline. */
  private readonly expire = (): void => {
    this.timer = null;
    this.timerDue = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, w] of this.waiting) {
      // Node's timers run on the event loop's cached clock and can fire a little before
      // performance.now() reaches the deadline: such a call is not due yet, the timer is set again.
      if (w.deadline <= now) {
        this.fail(id, new TimeoutError(`rpc call to exchange '${w.exchange}', routing key '${w.routingKey}': no reply within ${w.timeout} ms`));
      } else if (w.deadline < next) next = w.deadline;
    }
    if (next !== Infinity) this.armTimer(next);
  };
}
