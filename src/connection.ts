// AmqpProtocol: one AMQP connection. It runs the handshake, routes frames
// to channels, answers the broker's connection methods, sends heartbeats,
// and ends the connection exactly once, failing everything that waits with
// the one error that ended it. It talks to the socket only through a Link
// and never emits 'error': errors go to the `onError` option.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  encodeConnectionOpen,
  CONNECTION_OPEN_OK,
  CONNECTION_SECURE,
  CONNECTION_START,
  CONNECTION_TUNE,
  CONNECTION_UNBLOCKED,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  BasicProperties,
  methodName,
  decodeBasicProperties,
  decodeMethod,
  encodeConnectionClose,
  encodeConnectionCloseOk,
  encodeConnectionSecureOk,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  FRAME_MIN_SIZE,
  type ConnectionClose,
  type ConnectionStart,
  type ConnectionTune,
  type IncomingMethod,
} from '../generated/index.js';
import { AmqpClosedConnection, AmqpError, FrameError, NoChannelAvailable, TimeoutError } from './errors.js';
import { Reader, type FieldTable } from './wire/index.js';
import { FrameParser, type BodySink } from './framing/frame-parser.js';
import { decodeDeliver } from './framing/content.js';
import { FrameWriter } from './framing/frame-writer.js';
import { Heartbeat } from './heartbeat.js';
import { Link, type LinkHandler } from './link.js';
import { Channel, type ChannelOptions } from './channel.js';
import {
  checkLoginMethod,
  clientProperties,
  effectiveChannelMax,
  effectiveFrameMax,
  negotiate,
  saslResponse,
  serverOffers,
} from './handshake.js';
import { DEFAULT_MAX_BODY_SIZE, type ProtocolOptions } from './options.js';

export type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed';

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** How long to wait for close-ok after closing because of bad bytes. */
const FRAME_ERROR_LINGER = 1000;
const DEFAULT_CLOSE_TIMEOUT = 2000;

type HandshakeStep = 'start' | 'tune' | 'open-ok';
type SocketEnd = 'destroy' | 'end' | 'await-close-ok';

export interface CloseOptions {
  /** Send connection.close and end at once, without waiting for close-ok. */
  noWait?: boolean;
  /** Milliseconds to wait for close-ok before destroying the socket (default 2000). */
  timeout?: number;
}

/** A reply text fitted into a shortstr (255 bytes of UTF-8). */
function shortText(s: string): string {
  let t = s;
  while (Buffer.byteLength(t, 'utf8') > 255) t = t.slice(0, -1);
  return t;
}

interface Deferred {
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface AmqpProtocolEvents {
  blocked: [reason: string];
  unblocked: [];
}

export class AmqpProtocol extends EventEmitter<AmqpProtocolEvents> {
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
  readonly options: Readonly<ProtocolOptions>;

  /** @internal The frame writer every channel writes through. */
  readonly fw: FrameWriter;
  private readonly parser: FrameParser;
  private readonly reader = new Reader();
  private readonly maxBodySize: number;
  private link: Link | null = null;
  private readonly channels = new Map<number, Channel>();
  private nextChannelId = 1;
  private channelLimit = 0xffff;
  private heartbeat: Heartbeat | null = null;
  private lastReceived = 0;
  private handshake: Deferred | null = null;
  private handshakeStep: HandshakeStep = 'start';
  private sasl: Buffer = Buffer.alloc(0);
  private userClosed = false;
  private closing: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout | null; err: AmqpClosedConnection } | null =
    null;
  private held: { run: () => void; fail: (err: Error) => void }[] = [];
  /** After a frame error: the socket stays open (≤ 1 s) for the broker's close-ok. */
  private awaitingFinalCloseOk = false;
  private linger: NodeJS.Timeout | null = null;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(options: ProtocolOptions = {}) {
    super();
    this.options = { ...options };
    this.maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.fw = new FrameWriter((chunks, written) => (this.link === null ? true : this.link.write(chunks, written)));
    this.parser = new FrameParser(this.onFrame, this.onBodyStart);
    this.ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  }

  // ------------------------------------------------------------ public API

  /** Open a channel on the next free id; `NoChannelAvailable` when none is left. */
  channel(o: ChannelOptions = {}): Promise<Channel> {
    if (this.state !== 'open') return Promise.reject(this.goneError());
    const id = this.allocateChannelId();
    if (id === 0) return Promise.reject(new NoChannelAvailable(`all ${this.channelLimit} channel ids are in use`));
    const ch = new Channel(this, id, o);
    this.channels.set(id, ch);
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

  // ------------------------------------------------------------ internal API

  /**
   * @internal Start the handshake on a connected socket (connect() does
   * this). Resolves once connection.open-ok arrives.
   */
  attach(socket: Socket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.link !== null) throw new TypeError('AmqpProtocol.attach: already attached');
      if (this.state === 'closed') throw this.goneError();
      const method = checkLoginMethod(this.options.loginMethod ?? 'PLAIN');
      this.sasl = saslResponse(method, this.options.login ?? 'guest', this.options.password ?? 'guest');
      this.handshake = { resolve, reject };
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
  releaseChannel(ch: Channel): void {
    if (this.channels.get(ch.channelId) === ch) this.channels.delete(ch.channelId);
  }

  /** @internal Hold a publish until the broker unblocks the connection. */
  holdPublish(run: () => void, fail: (err: Error) => void): void {
    this.held.push({ run, fail });
  }

  /** @internal Hand an error to the onError option; never throws. */
  report(err: unknown): void {
    const e = err instanceof Error ? err : new AmqpError(String(err));
    const cb = this.options.onError;
    if (cb === undefined) {
      process.emitWarning(e);
      return;
    }
    try {
      const r = cb(e);
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, () => undefined);
    } catch {
      // onError must not throw into the library
    }
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
    if (this.linger !== null) clearTimeout(this.linger);
    this.linger = null;
    this.awaitingFinalCloseOk = false;
    if (this.state === 'closed') return;
    let text: string;
    if (this.userClosed) text = 'transport closed by the user';
    else if (this.state === 'connecting') {
      text =
        this.handshakeStep === 'start'
          ? 'the server closed the socket before connection.start'
          : 'the server closed the socket during the handshake (wrong credentials or vhost?)';
    } else text = 'the socket closed unexpectedly';
    if (err !== undefined) text += `: ${err.message}`;
    this.shutdown(new AmqpClosedConnection({ code: 0, replyText: text, cause: err }), 'destroy', true);
  }

  // ------------------------------------------------------------ frames

  private readonly onFrame = (type: number, channel: number, buf: Buffer, start: number, end: number): void => {
    if (this.state === 'closed') {
      // Only waiting for close-ok after a frame error.
      if (this.awaitingFinalCloseOk && type === FRAME_METHOD && channel === 0) {
        const id = this.reader.reset(buf, start, end).u32('method id');
        if (id === CONNECTION_CLOSE_OK || id === CONNECTION_CLOSE) this.link?.destroy();
      }
      return;
    }
    if (channel !== 0 && this.state !== 'open') {
      if (this.state === 'closing') return; // only close-ok matters now
      throw new FrameError(`frame for channel ${channel} before the connection is open`, 503);
    }
    const r = this.reader;
    switch (type) {
      case FRAME_METHOD: {
        if (channel !== 0 && end - start >= 4 && buf[start + 1] === 0x3c && buf[start + 3] === 0x3c && buf[start] === 0 && buf[start + 2] === 0) {
          // The hot path, basic.deliver (method id 0x003c003c): decoded straight into an Envelope.
          // Decoded before the channel lookup, as decodeMethod does for every other method.
          const envelope = decodeDeliver(r.reset(buf, start + 4, end));
          this.channelFor(channel).onDeliver(envelope);
          return;
        }
        r.reset(buf, start, end);
        const m = decodeMethod(r);
        if (channel === 0) this.onConnectionMethod(m);
        else this.channelFor(channel).onMethod(m);
        return;
      }
      case FRAME_HEADER: {
        if (channel === 0) throw new FrameError('content header on channel 0', 504);
        const ch = this.channelFor(channel);
        if (end - start === 14 && buf[start + 12] === 0 && buf[start + 13] === 0 && buf[start + 4] === 0 && buf[start + 5]! <= 0x1f) {
          // The common case by hand: no properties (flags 0), a body size below 2^53.
          const size =
            ((buf[start + 5]! << 16) | (buf[start + 6]! << 8) | buf[start + 7]!) * 0x1_0000_0000 +
            (buf[start + 8]! * 0x1000000 + ((buf[start + 9]! << 16) | (buf[start + 10]! << 8) | buf[start + 11]!));
          if (size > this.maxBodySize) {
            throw new FrameError(`channel ${channel}: body of ${size} bytes exceeds maxBodySize ${this.maxBodySize}`);
          }
          ch.onHeader((buf[start]! << 8) | buf[start + 1]!, size, new BasicProperties());
          return;
        }
        r.reset(buf, start, end);
        const classId = r.u16('content header class-id');
        r.u16('content header weight');
        const size = r.u64('content header body-size');
        if (size > this.maxBodySize) {
          throw new FrameError(`channel ${channel}: body of ${size} bytes exceeds maxBodySize ${this.maxBodySize}`);
        }
        const props = decodeBasicProperties(r);
        if (r.pos !== end) throw new FrameError(`channel ${channel}: ${end - r.pos} bytes after the content header properties`);
        ch.onHeader(classId, size, props);
        return;
      }
      case FRAME_BODY:
        if (channel === 0) throw new FrameError('content body on channel 0', 504);
        this.channelFor(channel).onBody(buf, start, end);
        return;
      default:
        return; // heartbeat: receiving anything already counts
    }
  };

  /**
   * A body frame split across socket chunks begins: its payload is streamed
   * into the channel's content assembler (the same checks as `onFrame`).
   */
  private readonly onBodyStart = (channel: number, size: number): BodySink | null => {
    if (this.state === 'closed') return null;
    if (channel !== 0 && this.state !== 'open') {
      if (this.state === 'closing') return null;
      throw new FrameError(`frame for channel ${channel} before the connection is open`, 503);
    }
    if (channel === 0) throw new FrameError('content body on channel 0', 504);
    const ch = this.channelFor(channel);
    this.streamSink = ch.bodySink(size);
    this.streamChannel = ch;
    return this.bodyRelay;
  };

  /** The channel (and its assembler) receiving the streamed body frame. */
  private streamChannel: Channel | null = null;
  private streamSink: BodySink | null = null;

  /**
   * Between the streamed frame's header and its end the connection may
   * start closing: as for a frame that arrives whole, the frame then counts
   * only once complete, and is dropped unless the connection is still open
   * and the channel still the one the frame began on.
   */
  private readonly bodyRelay: BodySink = {
    bodyPart: (buf, start, end) => this.streamSink!.bodyPart(buf, start, end),
    bodyEnd: () => {
      const ch = this.streamChannel!;
      const sink = this.streamSink!;
      this.streamChannel = null;
      this.streamSink = null;
      if (this.state !== 'open') return;
      if (this.channelFor(ch.channelId) !== ch) {
        throw new FrameError(`channel ${ch.channelId}: content body without a content header`, 505);
      }
      sink.bodyEnd();
    },
  };

  private channelFor(id: number): Channel {
    const ch = this.channels.get(id);
    if (ch === undefined) throw new FrameError(`frame for channel ${id}, which is not open`, 504);
    return ch;
  }

  private onConnectionMethod(m: IncomingMethod): void {
    switch (m.id) {
      case CONNECTION_START:
        return this.onStart(m.args);
      case CONNECTION_SECURE:
        if (this.handshakeStep !== 'tune') break;
        this.send(encodeConnectionSecureOk, { response: this.sasl });
        return;
      case CONNECTION_TUNE:
        return this.onTune(m.args);
      case CONNECTION_OPEN_OK:
        if (this.handshakeStep !== 'open-ok' || this.state !== 'connecting') break;
        this.state = 'open';
        this.handshake?.resolve();
        this.handshake = null;
        return;
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
      case CONNECTION_UNBLOCKED: {
        this.blocked = null;
        this.safeEmit('unblocked');
        const held = this.held;
        this.held = [];
        for (const h of held) h.run();
        return;
      }
      default:
        break;
    }
    throw new FrameError(`unexpected ${methodName(m.id)} on channel 0 (connection ${this.state})`, 503);
  }

  private onStart(a: ConnectionStart): void {
    if (this.state !== 'connecting' || this.handshakeStep !== 'start') {
      throw new FrameError('unexpected connection.start', 503);
    }
    this.serverProperties = a.serverProperties;
    if (a.versionMajor !== 0 || a.versionMinor !== 9) {
      throw new FrameError(`the server speaks AMQP ${a.versionMajor}-${a.versionMinor}, not 0-9`, 503);
    }
    const method = checkLoginMethod(this.options.loginMethod ?? 'PLAIN');
    if (!serverOffers(a.mechanisms, method)) {
      this.shutdown(
        new AmqpClosedConnection({
          code: 0,
          replyText: `the server does not offer login method ${method} (it offers: ${a.mechanisms})`,
        }),
        'destroy',
        false,
      );
      return;
    }
    this.send(encodeConnectionStartOk, {
      clientProperties: clientProperties(this.options),
      mechanism: method,
      response: this.sasl,
      locale: 'en_US',
    });
    this.handshakeStep = 'tune';
  }

  private onTune(a: ConnectionTune): void {
    if (this.state !== 'connecting' || this.handshakeStep !== 'tune') throw new FrameError('unexpected connection.tune', 503);
    if (a.frameMax !== 0 && a.frameMax < FRAME_MIN_SIZE) {
      // Below the spec's minimum no method is guaranteed to fit a frame.
      throw new FrameError(`the server proposed frame-max ${a.frameMax}, below the minimum of ${FRAME_MIN_SIZE}`, 530);
    }
    const t = negotiate(this.options, a);
    this.serverChannelMax = t.channelMax;
    this.serverFrameMax = t.frameMax;
    this.serverHeartbeat = t.heartbeat;
    this.channelLimit = effectiveChannelMax(t.channelMax);
    const payload = effectiveFrameMax(t.frameMax) - 8;
    this.parser.maxPayload = payload;
    this.fw.maxPayload = payload;
    this.send(encodeConnectionTuneOk, t);
    this.send(encodeConnectionOpen, { virtualHost: this.options.virtualhost ?? '/', insist: this.options.insist ?? false });
    this.handshakeStep = 'open-ok';
    if (t.heartbeat > 0) {
      const hb = new Heartbeat(t.heartbeat, {
        lastSent: () => this.fw.lastFlush,
        lastReceived: () => this.lastReceived,
        send: () => this.fw.heartbeat(),
        dead: (silent) =>
          this.shutdown(
            new AmqpClosedConnection({
              code: 0,
              replyText: `missed heartbeats: nothing received from the server for ${silent} ms (heartbeat ${t.heartbeat} s)`,
            }),
            'destroy',
            true,
          ),
      });
      this.heartbeat = hb;
      hb.start();
    }
  }

  private onServerClose(a: ConnectionClose): void {
    this.send0(encodeConnectionCloseOk);
    const err = new AmqpClosedConnection({ code: a.replyCode, replyText: a.replyText, classId: a.classId, methodId: a.methodId });
    this.shutdown(err, 'end', !this.userClosed);
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
        : new FrameError(`internal error: ${raw instanceof Error ? raw.message : String(raw)}`, 541, raw);
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
      this.send(encodeConnectionClose, { replyCode: code, replyText: shortText(text), classId: 0, methodId: 0 });
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
    const held = this.held;
    this.held = [];
    for (const h of held) h.fail(err);
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const ch of channels) ch.connectionLost(err);
    if (socket === 'end') {
      this.fw.flushNow();
      this.fw.fail(err);
      this.link?.end();
      this.startLinger();
    } else if (socket === 'await-close-ok') {
      this.fw.fail(err);
      this.awaitingFinalCloseOk = true;
      this.startLinger();
    } else {
      this.fw.fail(err);
      this.link?.destroy();
    }
    const hs = this.handshake;
    this.handshake = null;
    hs?.reject(err);
    const closing = this.closing;
    if (closing !== null) {
      if (closing.timer !== null) clearTimeout(closing.timer);
      closing.resolve();
    }
    this.markEnded();
    if (report && wasUp && !this.userClosed) this.report(err);
  }

  private startLinger(): void {
    if (this.link === null || this.linger !== null) return;
    const link = this.link;
    this.linger = setTimeout(() => {
      this.linger = null;
      link.destroy();
    }, FRAME_ERROR_LINGER);
    this.linger.unref();
  }

  private goneError(): AmqpClosedConnection {
    return this.closeError ?? new AmqpClosedConnection({ replyText: `connection is ${this.state}` });
  }

  // ------------------------------------------------------------ helpers

  private send<T>(encode: (w: FrameWriter['w'], m: T) => void, m: T): void {
    const fw = this.fw;
    const mark = fw.method(0);
    try {
      encode(fw.w, m);
      fw.end(mark);
    } catch (err) {
      fw.rollback(mark);
      throw err;
    }
  }

  private send0(encode: (w: FrameWriter['w']) => void): void {
    const fw = this.fw;
    const mark = fw.method(0);
    encode(fw.w);
    fw.end(mark);
  }

  private safeEmit(event: 'blocked', reason: string): void;
  private safeEmit(event: 'unblocked'): void;
  private safeEmit(event: 'blocked' | 'unblocked', reason?: string): void {
    try {
      if (event === 'blocked') this.emit('blocked', reason ?? '');
      else this.emit('unblocked');
    } catch (err) {
      this.report(err);
    }
  }

  private allocateChannelId(): number {
    const max = this.channelLimit;
    if (this.channels.size >= max) return 0;
    for (let i = 0; i < max; i++) {
      const id = this.nextChannelId;
      this.nextChannelId = id >= max ? 1 : id + 1;
      if (!this.channels.has(id)) return id;
    }
    return 0;
  }
}
