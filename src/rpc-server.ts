// RpcServer: answers requests from a queue, built only on the public
// Channel API. It has its own channel with basic.qos `prefetch` (default
// 10) and one consumer on the queue, which it does not declare, running
// `concurrency` handlers at a time (default 1). For each request: call the
// handler; publish its result to the default exchange with the request's
// `replyTo` as routing key and the request's `correlationId`; then ack. A
// handler returning undefined, or a request without `replyTo`, sends no
// reply (the request is still acked). A handler that throws, rejects or
// returns something that is not a reply: nack without requeue (so the
// request is dead-lettered when its queue says so) and the error goes to
// `onError`.

import type { BasicProperties, BasicPropertiesInit } from '../generated/basic.js';
import type { Channel } from './channel.js';
import { ConsumerCancelled } from './errors.js';
import type { Envelope } from './framing/envelope.js';
import type { ErrorCallback } from './options.js';
import { reportError } from './report.js';
import type { RpcProtocol } from './rpc-client.js';

/** What a handler may return: a body, a body with properties, or undefined for no reply. */
export type RpcResult =
  | string
  | Uint8Array
  | {
      /** The reply body. */
      body: string | Uint8Array;
      /** Reply properties; the library sets `correlationId` to the request's. */
      properties?: BasicPropertiesInit;
    }
  | undefined;

/** Answers one request. */
export type RpcHandler = (body: Buffer, properties: BasicProperties) => RpcResult | Promise<RpcResult>;

/** Options of `protocol.rpcServer()`. */
export interface RpcServerOptions {
  /** basic.qos prefetch-count of the server's channel (default 10; 0: no limit). */
  prefetch?: number;
  /** Handlers that may run at once (default 1). */
  concurrency?: number;
  /** Where handler errors go (default: the connection's onError). */
  onError?: ErrorCallback;
  /** Milliseconds `close()` lets running handlers finish before closing the channel (default 5000). */
  closeTimeout?: number;
}

const DEFAULT_PREFETCH = 10;
const DEFAULT_CLOSE_TIMEOUT = 5000;

function nonNegativeInteger(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TypeError(`rpcServer: ${what} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** The reply a handler's result asks for, or null for none; TypeError for anything else. */
function replyOf(result: unknown): { body: string | Uint8Array; properties: BasicPropertiesInit | undefined } | null {
  if (result === undefined) return null;
  if (typeof result === 'string' || result instanceof Uint8Array) return { body: result, properties: undefined };
  if (result !== null && typeof result === 'object' && 'body' in result) {
    const { body, properties } = result as { body: unknown; properties?: BasicPropertiesInit };
    if (typeof body === 'string' || body instanceof Uint8Array) return { body, properties };
  }
  throw new TypeError('rpcServer: the handler must return a Buffer, a string, { body, properties } or undefined');
}

/** Serve `queueName` with `handler` on a channel of `protocol` (what `protocol.rpcServer()` does). */
export function openRpcServer(protocol: RpcProtocol, queueName: string, handler: RpcHandler, o: RpcServerOptions = {}): Promise<RpcServer> {
  return RpcServer.open(protocol, queueName, handler, o);
}

/** A consumer that answers requests; made by `protocol.rpcServer()`. */
export class RpcServer {
  /** The consumer tag of the server's consumer. */
  consumerTag = '';
  private running = 0;
  private drained: (() => void) | null = null;
  private stopping = false;
  private closing: Promise<void> | null = null;
  /** Reported that the channel ended under us (once). */
  private lossReported = false;

  private constructor(
    private readonly channel: Channel,
    private readonly handler: RpcHandler,
    private readonly report: (err: unknown) => void,
    private readonly closeTimeout: number,
  ) {}

  /** @internal Open the channel, set its prefetch and start consuming. */
  static async open(protocol: RpcProtocol, queueName: string, handler: RpcHandler, o: RpcServerOptions): Promise<RpcServer> {
    if (typeof handler !== 'function') throw new TypeError('rpcServer: handler must be a function');
    const prefetch = nonNegativeInteger('prefetch', o.prefetch ?? DEFAULT_PREFETCH);
    const closeTimeout = nonNegativeInteger('closeTimeout', o.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    const onError = o.onError;
    const report = onError === undefined ? (err: unknown) => protocol.report(err) : (err: unknown) => reportError(onError, err);
    const channel = await protocol.channel();
    const server = new RpcServer(channel, handler, report, closeTimeout);
    try {
      await channel.basicQos({ prefetchCount: prefetch });
      channel.addCancellationCallback((_ch, tag) => {
        if (tag === server.consumerTag) report(new ConsumerCancelled(tag));
      });
      const { consumerTag } = await channel.basicConsume(server.onRequest, { queueName, concurrency: o.concurrency ?? 1 });
      server.consumerTag = consumerTag;
    } catch (err) {
      // A 404 on the queue has closed the channel already: a second close would reject and hide err.
      if (channel.state !== 'closed') await channel.close();
      throw err;
    }
    return server;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.running;
  }

  /** Whether the server still takes requests: not closed, and its channel open. */
  get isOpen(): boolean {
    return !this.stopping && this.channel.isOpen;
  }

  /**
   * Stop taking requests (basic.cancel; requests received but not yet
   * handed to the handler go back to the queue), let the running handlers
   * reply and ack (up to `closeTimeout`), then close the channel. Always
   * resolves; a second call returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.channel.isOpen && this.consumerTag !== '') {
      await this.channel.basicCancel(this.consumerTag).catch(() => undefined);
    }
    if (this.running > 0 && this.channel.isOpen) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.closeTimeout);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    // The channel may have been closed meanwhile (broker, connection): close() still resolves, as documented.
    if (this.channel.state !== 'closed') await this.channel.close();
  }

  /** The consumer callback: never throws, never rejects. */
  private readonly onRequest = async (_ch: Channel, body: Buffer, e: Envelope, properties: BasicProperties): Promise<void> => {
    this.running++;
    try {
      await this.handle(body, e.deliveryTag, properties);
    } finally {
      if (--this.running === 0 && this.drained !== null) this.drained();
    }
  };

  private async handle(body: Buffer, tag: number, properties: BasicProperties): Promise<void> {
    let reply: ReturnType<typeof replyOf>;
    try {
      reply = replyOf(await this.handler(body, properties));
    } catch (err) {
      this.settle(() => this.channel.basicClientNack(tag, { requeue: false }));
      this.report(err);
      return;
    }
    const replyTo = properties.replyTo;
    if (reply !== null && replyTo !== undefined) {
      const correlationId = properties.correlationId ?? reply.properties?.correlationId;
      try {
        await this.channel.publish(reply.body, '', replyTo, { ...reply.properties, correlationId });
      } catch (err) {
        // Refused before it was sent (a bad reply property, say): treated as a handler failure.
        if (this.channel.isOpen) this.settle(() => this.channel.basicClientNack(tag, { requeue: false }));
        this.failed(err);
        return;
      }
    }
    this.settle(() => this.channel.basicClientAck(tag));
  }

  /** Ack or nack; on a channel that has ended, the failure is reported once. */
  private settle(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.failed(err);
    }
  }

  /**
   * A reply or an ack failed: the channel ended (the broker requeues what
   * was unacked). Reported once, unless the user is closing the server;
   * other failures (a bad reply property, say) are reported each time.
   */
  private failed(err: unknown): void {
    if (this.channel.isOpen) {
      this.report(err);
      return;
    }
    if (this.stopping || this.lossReported) return;
    this.lossReported = true;
    this.report(err);
  }
}
