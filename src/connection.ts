// AmqpProtocol: one AMQP connection. It owns the socket's Link, the frame
// parser and writer, the channels, heartbeats and the connection's
// lifecycle, and ends the connection exactly once, failing everything that
// waits with the one error that ended it. The handshake (handshake.ts) and
// the routing of inbound frames (framing/inbound.ts) are modules of their
// own. It never emits 'error': errors go to the `onError` option.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_UNBLOCKED,
  encodeConnectionClose,
  encodeConnectionCloseOk,
  type ConnectionClose,
} from '../generated/connection.js';
import { FRAME_METHOD } from '../generated/constants.js';
import { methodName, type IncomingMethod } from '../generated/dispatch.js';
import { AmqpClosedConnection, FrameError, NoChannelAvailable, TimeoutError } from './errors.js';
import { Channel, type ChannelOptions } from './channel.js';
import type { ChannelHost } from './channel-host.js';
import { ChannelTable } from './channel-table.js';
import { AckFrames } from './framing/ack-frames.js';
import { FrameParser } from './framing/frame-parser.js';
import { FrameWriter, type MethodEncoder } from './framing/frame-writer.js';
import { InboundRouter } from './framing/inbound.js';
import { Handshake } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { HeldPublishes } from './held-publishes.js';
import { Link, type LinkHandler } from './link.js';
import { effectiveChannelMax, effectiveFrameMax, type Tuning } from './negotiation.js';
import { DEFAULT_MAX_BODY_SIZE, type CloseOptions, type ProtocolOptions } from './options.js';
import { reportError } from './report.js';
import { openRpcClient, type RpcClient, type RpcClientOptions } from './rpc-client.js';
import { openRpcServer, type RpcHandler, type RpcServer, type RpcServerOptions } from './rpc-server.js';
import { fitShortstr, type FieldTable } from './wire/index.js';

export type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed';

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** How long the socket may linger after connection.close / close-ok (for the peer's answer). */
const FRAME_ERROR_LINGER = 1000;
const DEFAULT_CLOSE_TIMEOUT = 2000;

type SocketEnd = 'destroy' | 'end' | 'await-close-ok';

export interface AmqpProtocolEvents {
  blocked: [reason: string];
  unblocked: [];
}

export class AmqpProtocol extends EventEmitter<AmqpProtocolEvents> implements ChannelHost {
  /** 'connecting' → 'open' → 'closing' → 'closed' (or straight to 'closed' on failure). */
  state: ConnectionState = 'connecting';
  /** The server's connection.start properties. */
  serverProperties: FieldTable = {};
  /** Negotiated channel-max (0 = no limit). */
  serverChannelMax = 0;
  /** Negotiated frame-max (0 = no limit). */
  serverFrameMax = 0;
  /** Negotiated heartbeat in seconds (0 = none). */
  serverHeartbeat = 0;
  /** The broker's reason while it blocks publishing (connection.blocked), else null. */
  blocked: string | null = null;
  /** The error that ended the connection; null while it is up. */
  closeError: AmqpClosedConnection | null = null;
  /** The options the protocol was made with, without the password. */
  readonly options: Readonly<Omit<ProtocolOptions, 'password'>>;
  /** Kept in an ES private field: inspection, JSON and errors never reach it. */
  #password: string;

  /** @internal The frame writer every channel writes through. */
  readonly fw: FrameWriter;
  /** @internal The ack fast path over `fw`. */
  readonly ackFrames: AckFrames;
  private readonly parser: FrameParser;
  private link: Link | null = null;
  private readonly channels = new ChannelTable<Channel>();
  private heartbeat: Heartbeat | null = null;
  private lastReceived = 0;
  private handshake: Handshake | null = null;
  private opening: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private userClosed = false;
  private closing: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout | null; err: AmqpClosedConnection } | null =
    null;
  private readonly held = new HeldPublishes();
  /** After a frame error: the socket stays open (≤ 1 s) for the broker's close-ok. */
  private awaitingFinalCloseOk = false;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(options: ProtocolOptions = {}) {
    super();
    const { password, ...rest } = options;
    this.options = rest;
    this.#password = password ?? 'guest';
    this.fw = new FrameWriter((chunks, written) => (this.link === null ? true : this.link.write(chunks, written)));
    this.ackFrames = new AckFrames(this.fw);
    const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    const router = new InboundRouter({
      connectionState: () => this.state,
      maxBodySize,
      channel: (id) => this.channels.get(id),
      onConnectionMethod: (m) => this.onConnectionMethod(m),
      onFrameAfterClose: (type, channel, buf, start) => this.onFrameAfterClose(type, channel, buf, start),
    });
    this.parser = new FrameParser(router.onFrame, router.onBodyStart);
    this.ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  }

  // ------------------------------------------------------------ public API

  /** Open a channel on the next free id; `NoChannelAvailable` when none is left. */
  channel(o: ChannelOptions = {}): Promise<Channel> {
    if (this.state !== 'open') return Promise.reject(this.goneError());
    const id = this.channels.allocate();
    if (id === 0) return Promise.reject(new NoChannelAvailable(`all ${this.channels.limit} channel ids are in use`));
    const ch = Channel.create(this, id, o);
    this.channels.add(ch);
    return ch.open(o.timeout).then(() => ch);
  }

  /**
   * connection.close / close-ok; closes every channel. Waits for close-ok
   * up to `timeout` (default 2000 ms), then destroys the socket; always
   * resolves. On a blocked connection, does not wait for close-ok.
   */
  close(o: CloseOptions = {}): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.closing !== null) return this.closing.promise;
    this.userClosed = true;
    const err = new AmqpClosedConnection({ code: 200, replyText: 'connection closed by the client' });
    if (this.state === 'connecting') {
      this.shutdown(err, 'destroy', false);
      return Promise.resolve();
    }
    this.state = 'closing';
    let resolve!: () => void;
    const promise = new Promise<void>((res) => (resolve = res));
    this.closing = { promise, resolve, timer: null, err };
    this.writeClose(200, 'Normal shutdown');
    if (o.noWait || this.blocked !== null) {
      this.fw.flushNow();
      this.shutdown(err, 'destroy', false);
      return promise;
    }
    const timeout = o.timeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.closing.timer = setTimeout(() => this.shutdown(err, 'destroy', false), timeout);
    return promise;
  }

  /** Resolves when the connection has ended; rejects `TimeoutError` after `timeout` ms. */
  waitClosed(timeout?: number): Promise<void> {
    if (this.state === 'closed' || timeout === undefined) return this.ended;
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new TimeoutError(`connection still open after ${timeout} ms`)), timeout);
      void this.ended.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** RPC over direct reply-to on a channel of its own: `call()` many at once, matched by correlationId (see RpcClient). */ rpcClient(o?: RpcClientOptions): Promise<RpcClient> { return openRpcClient(this, o); }
  /** Answer requests from `queueName` (not declared) with `handler`: reply to replyTo, then ack (see RpcServer). */ rpcServer(queueName: string, handler: RpcHandler, o?: RpcServerOptions): Promise<RpcServer> { return openRpcServer(this, queueName, handler, o); }
  // ------------------------------------------------------------ internal API

  /**
   * @internal Start the handshake on a connected socket (connect() does
   * this). Resolves once connection.open-ok arrives.
   */
  attach(socket: Socket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.link !== null) throw new TypeError('AmqpProtocol.attach: already attached');
      if (this.state === 'closed') throw this.goneError();
      this.handshake = new Handshake(this.options, this.#password, this.handshakeHost);
      this.opening = { resolve, reject };
      this.lastReceived = Date.now();
      this.link = new Link(socket, this.linkHandler);
      this.link.write([PROTOCOL_HEADER]);
    });
  }

  /** @internal End the connection with `err` (connect timeout, say); not reported to onError. */
  abort(err: AmqpClosedConnection): void {
    this.shutdown(err, 'destroy', false);
  }

  /** @internal Transport.close(): the user destroys the socket. */
  transportClosing(): void {
    this.userClosed = true;
  }

  /** @internal A channel is finished with its id. */
  releaseChannel(ch: { readonly channelId: number }): void {
    const own = this.channels.get(ch.channelId);
    if (own === ch) this.channels.release(own);
  }

  /** @internal Hold a publish until the broker unblocks the connection. */
  holdPublish(run: () => void, fail: (err: Error) => void): void {
    this.held.hold(run, fail);
  }

  /** @internal Hand an error to the onError option; never throws. */
  report(err: unknown): void {
    reportError(this.options.onError, err);
  }

  // ------------------------------------------------------------ socket events

  private readonly linkHandler: LinkHandler = {
    onData: (chunk) => this.onData(chunk),
    onDrain: () => this.fw.drained(),
    onClosed: (err) => this.onSocketClosed(err),
  };

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now();
    if (this.state === 'closed' && !this.awaitingFinalCloseOk) return;
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.protocolError(err);
    }
  }

  private onSocketClosed(err: Error | undefined): void {
    this.awaitingFinalCloseOk = false;
    if (this.state === 'closed') return;
    let text: string;
    if (this.userClosed) text = 'transport closed by the user';
    else if (this.state === 'connecting') {
      text =
        this.handshake?.step === 'start'
          ? 'the server closed the socket before connection.start (a TLS port? then use amqps:// or the `ssl` option)'
          : 'the server closed the socket during the handshake (wrong credentials or vhost?)';
    } else text = 'the socket closed unexpectedly';
    if (err !== undefined) text += `: ${err.message}`;
    this.shutdown(new AmqpClosedConnection({ code: 0, replyText: text, cause: err }), 'destroy', true);
  }

  // ------------------------------------------------------------ connection methods

  private onConnectionMethod(m: IncomingMethod): void {
    if (this.handshake?.onMethod(m)) return;
    switch (m.id) {
      case CONNECTION_CLOSE:
        return this.onServerClose(m.args);
      case CONNECTION_CLOSE_OK:
        if (this.state !== 'closing' || this.closing === null) break;
        this.shutdown(this.closing.err, 'destroy', false);
        return;
      case CONNECTION_BLOCKED:
        this.blocked = m.args.reason;
        this.safeEmit('blocked', m.args.reason);
        return;
      case CONNECTION_UNBLOCKED:
        this.blocked = null;
        this.safeEmit('unblocked');
        this.held.release();
        return;
      default:
        break;
    }
    throw new FrameError(`unexpected ${methodName(m.id)} on channel 0 (connection ${this.state})`, 503);
  }

  /** What the handshake may do to the connection. */
  private readonly handshakeHost = {
    send: <T>(encode: MethodEncoder<T>, args: T): void => this.fw.writeMethod(0, encode, args),
    tuned: (t: Tuning): void => this.tuned(t),
    opened: (serverProperties: FieldTable): void => {
      if (this.state !== 'connecting') return;
      this.serverProperties = serverProperties;
      this.state = 'open';
      this.opening?.resolve();
      this.opening = null;
    },
    refused: (err: AmqpClosedConnection): void => this.shutdown(err, 'destroy', false),
  };

  private tuned(t: Tuning): void {
    this.serverChannelMax = t.channelMax;
    this.serverFrameMax = t.frameMax;
    this.serverHeartbeat = t.heartbeat;
    this.channels.limit = effectiveChannelMax(t.channelMax);
    const payload = effectiveFrameMax(t.frameMax) - 8;
    this.parser.maxPayload = payload;
    this.fw.maxPayload = payload;
    if (t.heartbeat === 0) return;
    this.heartbeat = new Heartbeat(t.heartbeat, {
      lastSent: () => this.fw.lastFlush,
      lastReceived: () => this.lastReceived,
      send: () => this.fw.heartbeat(),
      dead: (err) => this.shutdown(err, 'destroy', true),
    });
    this.heartbeat.start();
  }

  private onServerClose(a: ConnectionClose): void {
    this.fw.writeMethod(0, encodeConnectionCloseOk, undefined);
    const method = a.classId === 0 ? undefined : methodName((a.classId << 16) | a.methodId);
    const err = new AmqpClosedConnection({ code: a.replyCode, replyText: a.replyText, classId: a.classId, methodId: a.methodId, methodName: method });
    this.shutdown(err, 'end', !this.userClosed);
  }

  /** After a frame error only the broker's close-ok (or close) matters: then the socket can go. */
  private onFrameAfterClose(type: number, channel: number, buf: Buffer, start: number): void {
    if (!this.awaitingFinalCloseOk || type !== FRAME_METHOD || channel !== 0) return;
    const id = buf.readUInt32BE(start);
    if (id === CONNECTION_CLOSE_OK || id === CONNECTION_CLOSE) this.link?.destroy();
  }

  // ------------------------------------------------------------ ending

  /**
   * The peer's bytes are invalid (FrameError), or it broke the protocol
   * (SynchronizationError): tell it with connection.close and end.
   */
  private protocolError(raw: unknown): void {
    const err =
      raw instanceof AmqpClosedConnection
        ? raw
        : new AmqpClosedConnection(
            { code: 541, replyText: `internal error: ${raw instanceof Error ? raw.message : String(raw)}`, cause: raw },
            'connection closed',
            false,
          );
    if (this.state === 'closed') return;
    this.parser.resync();
    const connecting = this.state === 'connecting';
    if (this.link?.writable) {
      this.writeClose(err.code || 501, err.replyText);
      this.fw.flushNow();
    }
    this.shutdown(err, connecting ? 'destroy' : 'await-close-ok', true);
  }

  private writeClose(code: number, text: string): void {
    try {
      this.fw.writeMethod(0, encodeConnectionClose, { replyCode: code, replyText: fitShortstr(text), classId: 0, methodId: 0 });
    } catch {
      // nothing more can be written
    }
  }

  /**
   * End the connection once: fail every channel and waiter with `err`,
   * settle close()/waitClosed(), release the socket, tell onError if asked.
   */
  private shutdown(err: AmqpClosedConnection, socket: SocketEnd, report: boolean): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'open' || this.state === 'closing';
    this.state = 'closed';
    this.closeError = err;
    this.heartbeat?.stop();
    this.heartbeat = null;
    this.held.failAll(err);
    for (const ch of this.channels.takeAll()) ch.connectionLost(err);
    if (socket === 'end') {
      this.fw.flushNow();
      this.fw.fail(err);
      this.link?.end();
      this.link?.destroyAfter(FRAME_ERROR_LINGER);
    } else if (socket === 'await-close-ok') {
      this.fw.fail(err);
      this.awaitingFinalCloseOk = true;
      this.link?.destroyAfter(FRAME_ERROR_LINGER);
    } else {
      this.fw.fail(err);
      this.link?.destroy();
    }
    const opening = this.opening;
    this.opening = null;
    opening?.reject(err);
    const closing = this.closing;
    if (closing !== null) {
      if (closing.timer !== null) clearTimeout(closing.timer);
      closing.resolve();
    }
    this.markEnded();
    if (report && wasUp && !this.userClosed) this.report(err);
  }

  private goneError(): AmqpClosedConnection {
    return this.closeError ?? new AmqpClosedConnection({ replyText: `connection is ${this.state}` });
  }

  /** Emit to the user's listeners; what a listener throws goes to onError. */
  private safeEmit<K extends keyof AmqpProtocolEvents>(event: K, ...args: AmqpProtocolEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: AmqpProtocolEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.report(err);
    }
  }
}
