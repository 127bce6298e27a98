// Tracing (API.md "Tracing"): node:diagnostics_channel TracingChannels
// `amqp091:publish`, `amqp091:consume`, `amqp091:rpc` and the plain channel
// `amqp091:connection`. Zero cost when nobody subscribes: every call site
// checks `hasSubscribers` first and otherwise takes its usual path, so no
// context object is made and nothing here runs. What a subscriber throws
// never reaches the operation: diagnostics_channel catches it and reports
// it itself (an uncaught exception on the next tick), like for any channel.
//
// The hooks: Channel.publish (channel.ts), Consumer.run (consumer.ts), the
// iterator handing a message out (consumer-iterator.ts), RpcClient.call
// (rpc-client.ts), and AmqpProtocol's events (connection.ts).

import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { BasicProperties, BasicPropertiesInit } from '../generated/basic.js';
import type { AmqpClosedConnection } from './errors.js';
import type { Envelope } from './framing/envelope.js';
import type { FieldTable } from './wire/index.js';

/** The socket's remote address (of the last link, once it is gone). */
export interface RemoteAddress {
  host: string;
  port: number;
}

/**
 * `amqp091:publish` context. `properties` is the library's own copy of
 * the caller's, with `headers` always an object: a tracer's `start`
 * subscriber may add to it (`traceparent`), and the message goes out
 * with what it holds then. The caller's object is never changed.
 */
export interface PublishTraceContext {
  /** The exchange published to. */
  exchange: string;
  /** The routing key. */
  routingKey: string;
  /** The library's own copy of the properties, `headers` always an object: a tracer may add to it (e.g. `traceparent`); it is sent. */
  properties: BasicPropertiesInit & {
    /** Always an object here. */
    headers: FieldTable;
  };
  /** The channel's id. */
  channelId: number;
  /** The body's length in bytes. */
  bodySize: number;
  /** The broker's address (the socket's remote address). */
  host: string;
  /** The broker's port. */
  port: number;
  /** Set by diagnostics_channel: what the publish resolved with, or why it failed. */
  result?: unknown;
  /** Set by diagnostics_channel: why the publish failed. */
  error?: unknown;
}

/** `amqp091:consume` context: one delivery, around its callback (or when an iterator hands it out). */
export interface ConsumeTraceContext {
  /** The queue consumed from. */
  queue: string;
  /** The delivery's envelope (tags, exchange, routing key). */
  envelope: Envelope;
  /** The message's properties (`headers` carry what the publisher's tracer injected). */
  properties: BasicProperties;
  /** Set by diagnostics_channel: what the callback returned. */
  result?: unknown;
  /** Set by diagnostics_channel: what the callback threw or rejected with. */
  error?: unknown;
}

/** `amqp091:rpc` context: one RpcClient call, from its publish to its reply. */
export interface RpcTraceContext {
  /** The exchange the request is published to. */
  exchange: string;
  /** The request's routing key. */
  routingKey: string;
  /** The id that matches the reply to the request. */
  correlationId: string;
  /** The request's properties (a copy; `headers` always an object, `replyTo` and `correlationId` set). */
  properties: BasicPropertiesInit & {
    /** Always an object here. */
    headers: FieldTable;
  };
  /** Set by diagnostics_channel: the reply. */
  result?: unknown;
  /** Set by diagnostics_channel: why the call failed. */
  error?: unknown;
}

/** What an `amqp091:connection` message reports. */
export type ConnectionTraceEvent = 'open' | 'close' | 'blocked' | 'unblocked' | 'disconnected' | 'recovered';

/**
 * An `amqp091:connection` message. Details by event: 'close' and
 * 'disconnected' carry `error` (the AmqpClosedConnection), 'blocked' its
 * `reason`, 'recovered' `attempts` and `downtimeMs`.
 */
export interface ConnectionTraceMessage {
  /** What happened. */
  event: ConnectionTraceEvent;
  /** The broker's address (the socket's remote address). */
  host: string;
  /** The broker's port. */
  port: number;
  /** 'close', 'disconnected': the error that ended the link. */
  error?: AmqpClosedConnection;
  /** 'blocked': the broker's reason. */
  reason?: string;
  /** 'recovered': the attempts the outage took. */
  attempts?: number;
  /** 'recovered': milliseconds from the loss to the recovery. */
  downtimeMs?: number;
}

/** @internal */
export const publishTrace = tracingChannel<unknown, PublishTraceContext>('amqp091:publish');
/** @internal */
export const consumeTrace = tracingChannel<unknown, ConsumeTraceContext>('amqp091:consume');
/** @internal */
export const rpcTrace = tracingChannel<unknown, RpcTraceContext>('amqp091:rpc');
/** @internal */
export const connectionTrace = channel('amqp091:connection');

const noop = (): void => undefined;

/** `properties` copied, with headers (also a copy) always an object. */
function ownCopy<P extends BasicPropertiesInit>(properties: P | undefined): P & { headers: FieldTable } {
  return { ...properties, headers: { ...properties?.headers } } as P & { headers: FieldTable };
}

/** What goes on the wire: headers left empty by the tracer are not sent (as without tracing). */
function onWire(properties: BasicPropertiesInit & { headers: FieldTable }): BasicPropertiesInit {
  for (const _ in properties.headers) return properties;
  return { ...properties, headers: undefined };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * The traced paths. Call sites reach them only after `hasSubscribers`;
 * an object (not bare functions) so that a test can spy on it and see
 * that nothing here runs when nobody subscribes.
 * @internal
 */
export const traced = {
  /**
   * One publish inside `amqp091:publish`: `send` is called with the
   * context's properties after the `start` subscribers ran. The returned
   * promise is the traced one, never reported as unhandled (publish's
   * promise may be ignored).
   */
  publish(
    send: (properties: BasicPropertiesInit) => Promise<void>,
    channelId: number,
    remote: RemoteAddress,
    payload: string | Uint8Array,
    exchange: string,
    routingKey: string,
    properties: BasicPropertiesInit | undefined,
  ): Promise<void> {
    const bodySize = typeof payload === 'string' ? Buffer.byteLength(payload) : payload instanceof Uint8Array ? payload.length : 0;
    const context: PublishTraceContext = {
      exchange,
      routingKey,
      properties: ownCopy(properties),
      channelId,
      bodySize,
      host: remote.host,
      port: remote.port,
    };
    const p = publishTrace.tracePromise(() => send(onWire(context.properties)), context);
    p.catch(noop);
    return p;
  },

  /**
   * One consumer callback inside `amqp091:consume` (stores bound with
   * bindStore active while it runs): like tracePromise when it returns a
   * promise (the trace ends when that settles; the promise returned here
   * settles after), like traceSync otherwise.
   */
  consume<A extends unknown[]>(
    queue: string,
    envelope: Envelope,
    properties: BasicProperties,
    callback: (...args: A) => unknown,
    ...args: A
  ): unknown {
    const context: ConsumeTraceContext = { queue, envelope, properties };
    const { start, end, asyncStart, asyncEnd, error } = consumeTrace;
    return start.runStores(context, () => {
      try {
        const r = callback(...args);
        if (!isThenable(r)) {
          context.result = r;
          return r;
        }
        return Promise.resolve(r).then(
          (result) => {
            context.result = result;
            asyncStart.publish(context);
            asyncEnd.publish(context);
          },
          (err: unknown) => {
            context.error = err;
            error.publish(context);
            asyncStart.publish(context);
            asyncEnd.publish(context);
            throw err;
          },
        );
      } catch (err) {
        context.error = err;
        error.publish(context);
        throw err;
      } finally {
        end.publish(context);
      }
    });
  },

  /** An iterator hands a message to the loop: `start` and `end` of `amqp091:consume` (the loop body runs later, in its own context). */
  handOut(queue: string, envelope: Envelope, properties: BasicProperties): void {
    consumeTrace.traceSync(noop, { queue, envelope, properties });
  },

  /**
   * One RPC call inside `amqp091:rpc`; `call` gets the context's
   * properties (start subscribers may have added headers) and settles
   * with the reply. The request's own publish is traced inside it.
   */
  rpc<R>(
    call: (properties: BasicPropertiesInit) => Promise<R>,
    exchange: string,
    routingKey: string,
    correlationId: string,
    properties: BasicPropertiesInit,
  ): Promise<R> {
    const context: RpcTraceContext = { exchange, routingKey, correlationId, properties: ownCopy(properties) };
    return rpcTrace.tracePromise(() => call(context.properties), context);
  },

  /** A connection event on `amqp091:connection`. */
  connection(event: ConnectionTraceEvent, remote: RemoteAddress, details: Partial<ConnectionTraceMessage> = {}): void {
    const m: ConnectionTraceMessage = { event, host: remote.host, port: remote.port };
    if (details.error !== undefined) m.error = details.error;
    if (details.reason !== undefined) m.reason = details.reason;
    if (details.attempts !== undefined) m.attempts = details.attempts;
    if (details.downtimeMs !== undefined) m.downtimeMs = details.downtimeMs;
    connectionTrace.publish(m);
  },
};
