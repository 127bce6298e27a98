// ConnectionCore: the machinery under AmqpProtocol. It runs one link at a
// time (a socket with its handshake, frame parser, heartbeat) and ends the
// connection exactly once, failing everything that waits with the one
// error that ended it. A link that is lost without the user asking goes to
// `lost()`, which AmqpProtocol (connection.ts) turns into recovery or the
// end of the connection. It never emits 'error': errors go to `onError`.

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
import { AmqpClosedConnection, FrameError, isProtocolErrorCode } from './errors.js';
import type { Channel } from './channel.js';
import { ChannelTable } from './channel-table.js';
import type { Endpoint } from './endpoints.js';
import { AckFrames } from './framing/ack-frames.js';
import { FrameParser } from './framing/frame-parser.js';
import { FrameWriter, type MethodEncoder } from './framing/frame-writer.js';
import { InboundRouter } from './framing/inbound.js';
import { Handshake } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { HeldPublishes } from './held-publishes.js';
import { Link, type LinkHandler } from './link.js';
import { ReadPause } from './read-pause.js';
import { effectiveChannelMax, effectiveFrameMax, type Tuning } from './negotiation.js';
import { DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_HELD_BYTES, type ProtocolOptions } from './options.js';
import { Credentials } from './credentials.js';
import type { AmqpProtocolEvents, ConnectionState } from './connection-events.js';
import { reportError } from './report.js';
import { fitShortstr, type FieldTable } from './wire/index.js';

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** How long the socket may linger after connection.close / close-ok (for the peer's answer). */
const FRAME_ERROR_LINGER = 1000;

export type SocketEnd = 'destroy' | 'end' | 'await-close-ok';

export abstract class ConnectionCore extends EventEmitter<AmqpProtocolEvents> {
  /** 'connecting' → 'open' (⇄ 'recovering') → 'closing' → 'closed' (or straight to 'closed' on failure). */
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
  /** @internal The password (or password function); inspection, JSON and errors never reach it. */
  readonly credentials: Credentials;

  /** @internal The frame writer every channel writes through. */
  readonly fw: FrameWriter;
  /** @internal The ack fast path over `fw`. */
  readonly ackFrames: AckFrames;
  /** @internal A link is up and its handshake done (also while recovery replays topology). */
  linkUp = false;
  protected parser: FrameParser;
  protected link: Link | null = null;
  protected readonly channels = new ChannelTable<Channel>();
  protected heartbeat: Heartbeat | null = null;
  protected handshake: Handshake | null = null;
  protected opening: { resolve: () => void; reject: (err: Error) => void } | null = null;
  /** @internal The user asked for the end (close() or transport.close()): not reported, not recovered. */
  userClosed = false;
  protected closing: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout | null; err: AmqpClosedConnection } | null = null;
  protected readonly held: HeldPublishes;
  private lastReceived = 0;
  /** @internal Socket reads stopped while a consumer's buffer is full (read-pause.ts): never while a channel awaits the broker. */
  readonly reads = new ReadPause(this, () => this.state === 'open' && !this.channels.list().some((ch) => ch.awaitingReply));
  /** After a frame error: the socket stays open (≤ 1 s) for the broker's close-ok. */
  private awaitingFinalCloseOk = false;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(options: ProtocolOptions = {}) {
    super();
    const { password, ...rest } = options;
    this.options = rest;
    this.credentials = new Credentials(password);
    this.held = new HeldPublishes(options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES);
    this.fw = new FrameWriter((chunks, written) => {
      if (this.reads.paused) this.reads.apply(); // what goes out may await an answer: then read again
      return this.link === null ? true : this.link.write(chunks, written);
    });
    this.ackFrames = new AckFrames(this.fw);
    this.parser = this.newParser();
    this.ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  }

  /** Resolves when the connection has ended for good. */
  protected get whenEnded(): Promise<void> {
    return this.ended;
  }

  /** @internal The socket of the current link, if any. */
  get socket(): Socket | null {
    return this.link?.socket ?? null;
  }

  /**
   * A link ended without the user asking: `recoverable` unless the client
   * itself found a protocol error or the broker refused the handshake.
   */
  protected abstract lost(err: AmqpClosedConnection, socket: SocketEnd, recoverable: boolean): void;

  /** @internal Hand an error to the onError option; never throws. */
  report(err: unknown): void {
    reportError(this.options.onError, err);
  }

  /** A reply on channel 0 that the core does not handle (connection.update-secret-ok): true when taken. */
  protected abstract onConnectionReply(m: IncomingMethod): boolean;

  // ------------------------------------------------------------ the link

  /**
   * @internal Start the handshake on a connected socket (connect() and each
   * recovery attempt do this). Resolves once connection.open-ok arrives.
   * `endpoint` may carry its own login, password and vhost (a URL of its own).
   */
  attach(socket: Socket, endpoint?: Endpoint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.link !== null) throw new TypeError('AmqpProtocol.attach: already attached');
      if (this.state === 'closed') throw this.goneError();
      const options = { ...this.options };
      if (endpoint?.login !== undefined) options.login = endpoint.login;
      if (endpoint?.virtualhost !== undefined) options.virtualhost = endpoint.virtualhost;
      this.handshake = new Handshake(options, endpoint?.password ?? this.credentials.next(), this.handshakeHost);
      this.opening = { resolve, reject };
      this.lastReceived = Date.now();
      this.parser = this.newParser();
      this.fw.restart();
      const link: Link = new Link(socket, this.linkHandlerFor(() => link));
      this.link = link;
      link.write([PROTOCOL_HEADER]);
    });
  }

  private newParser(): FrameParser {
    const router = new InboundRouter({
      connectionState: () => (this.state === 'recovering' ? (this.linkUp ? 'open' : 'connecting') : this.state),
      maxBodySize: this.options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
      channel: (id) => this.channels.get(id),
      wasReleased: (id) => this.channels.wasReleased(id),
      onConnectionMethod: (m) => this.onConnectionMethod(m),
      onFrameAfterClose: (type, channel, buf, start) => this.onFrameAfterClose(type, channel, buf, start),
    });
    return new FrameParser(router.onFrame, router.onBodyStart);
  }

  /** Socket events of one link; a link that was replaced (recovery) is not heard any more. */
  private linkHandlerFor(link: () => Link): LinkHandler {
    return {
      onData: (chunk) => {
        if (link() === this.link) this.onData(chunk);
      },
      onDrain: () => {
        if (link() === this.link) this.fw.drained();
      },
      onClosed: (err) => {
        if (link() === this.link) this.onSocketClosed(err);
      },
    };
  }

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
    else if (!this.linkUp && this.state !== 'open') {
      text =
        this.handshake?.step === 'start'
          ? 'the server closed the socket before connection.start (a TLS port? then use amqps:// or the `ssl` option)'
          : 'the server closed the socket during the handshake (wrong credentials or vhost?)';
    } else text = 'the socket closed unexpectedly';
    if (err !== undefined) text += `: ${err.message}`;
    const lost = new AmqpClosedConnection({ code: 0, replyText: text, cause: err });
    if (this.userClosed) this.shutdown(lost, 'destroy', false);
    else this.lost(lost, 'destroy', true);
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
        this.releaseHeld();
        return;
      default:
        if (this.onConnectionReply(m)) return;
    }
    throw new FrameError(`unexpected ${methodName(m.id)} on channel 0 (connection ${this.state})`, 503);
  }

  /** @internal Run held publishes once nothing holds them any more (not blocked, not recovering, their channel's flow on). */
  releaseHeld(): void {
    if (this.blocked === null && this.state === 'open') this.held.release();
  }

  /** What the handshake may do to the connection. */
  private readonly handshakeHost = {
    send: <T>(encode: MethodEncoder<T>, args: T): void => this.fw.writeMethod(0, encode, args),
    tuned: (t: Tuning): void => this.tuned(t),
    opened: (serverProperties: FieldTable): void => {
      if (this.state !== 'connecting' && this.state !== 'recovering') return;
      this.serverProperties = serverProperties;
      this.linkUp = true;
      if (this.state === 'connecting') this.state = 'open';
      this.opening?.resolve();
      this.opening = null;
    },
    refused: (err: AmqpClosedConnection): void => this.lost(err, 'destroy', false),
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
      lastReceived: () => (this.reads.paused ? Date.now() : this.lastReceived),
      send: () => this.fw.heartbeat(),
      dead: (err) => this.lost(err, 'destroy', true),
    });
    this.heartbeat.start();
  }

  private onServerClose(a: ConnectionClose): void {
    this.fw.writeMethod(0, encodeConnectionCloseOk, undefined);
    const method = a.classId === 0 ? undefined : methodName((a.classId << 16) | a.methodId);
    const err = new AmqpClosedConnection({ code: a.replyCode, replyText: a.replyText, classId: a.classId, methodId: a.methodId, methodName: method });
    if (this.userClosed) this.shutdown(err, 'end', false);
    else this.lost(err, 'end', !isProtocolErrorCode(a.replyCode));
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
    const handshaking = !this.linkUp;
    if (this.link?.writable) {
      this.writeClose(err.code || 501, err.replyText);
      this.fw.flushNow();
    }
    this.lost(err, handshaking ? 'destroy' : 'await-close-ok', false);
  }

  protected writeClose(code: number, text: string): void {
    try {
      this.fw.writeMethod(0, encodeConnectionClose, { replyCode: code, replyText: fitShortstr(text), classId: 0, methodId: 0 });
    } catch {
      // nothing more can be written
    }
  }

  /** Let go of the current link: stop its heartbeat, fail what waits on the writer, release the socket. */
  protected dropLink(err: AmqpClosedConnection, socket: SocketEnd): void {
    this.linkUp = false;
    this.reads.reset();
    this.heartbeat?.stop();
    this.heartbeat = null;
    this.handshake = null;
    const link = this.link;
    if (socket === 'end') {
      this.fw.flushNow();
      this.fw.fail(err);
      link?.end();
      link?.destroyAfter(FRAME_ERROR_LINGER);
    } else if (socket === 'await-close-ok') {
      this.fw.fail(err);
      this.awaitingFinalCloseOk = true;
      link?.destroyAfter(FRAME_ERROR_LINGER);
    } else {
      this.fw.fail(err);
      link?.destroy();
    }
    const opening = this.opening;
    this.opening = null;
    opening?.reject(err);
  }

  /**
   * End the connection once: fail every channel and waiter with `err`,
   * settle close()/waitClosed(), release the socket, tell the user if asked
   * ('disconnected', then onError).
   */
  protected shutdown(err: AmqpClosedConnection, socket: SocketEnd, report: boolean): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'open' || this.state === 'closing';
    this.state = 'closed';
    this.closeError = err;
    this.dropLink(err, socket);
    this.held.failAll(err);
    for (const ch of this.channels.takeAll()) ch.connectionLost(err);
    const closing = this.closing;
    if (closing !== null) {
      if (closing.timer !== null) clearTimeout(closing.timer);
      // After the channels' 'close' events (each on the next turn, queued just above).
      setImmediate(closing.resolve);
    }
    this.markEnded();
    if (report && wasUp && !this.userClosed) {
      this.safeEmit('disconnected', err);
      this.report(err);
    }
  }

  protected goneError(): AmqpClosedConnection {
    return this.closeError ?? new AmqpClosedConnection({ replyText: `connection is ${this.state}` });
  }

  /** Emit to the user's listeners; what a listener throws goes to onError. */
  protected safeEmit<K extends keyof AmqpProtocolEvents>(event: K, ...args: AmqpProtocolEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: AmqpProtocolEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.report(err);
    }
  }
}
