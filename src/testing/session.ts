// One client connection to the fake broker: the socket, the protocol
// header, the handshake (start → tune → open, any credentials and vhost),
// connection-level methods, and the faults the test scripts (close with a
// code, drop the socket, stop answering, raw bytes). Channel methods go to
// `Channels`.

import type { Socket } from 'node:net';
import { FrameError } from '../errors.js';
import { Reader, fitShortstr } from '../wire/index.js';
import { FrameParser } from '../framing/frame-parser.js';
import {
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_START_OK,
  CONNECTION_TUNE_OK,
  CONNECTION_UPDATE_SECRET,
  encodeConnectionClose,
  encodeConnectionCloseOk,
  encodeConnectionOpenOk,
  encodeConnectionStart,
  encodeConnectionTune,
  encodeConnectionUpdateSecretOk,
} from '../../generated/connection.js';
import { encodeBasicCancel, encodeBasicDeliver, type BasicPropertiesInit } from '../../generated/basic.js';
import { COMMAND_INVALID, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, INTERNAL_ERROR } from '../../generated/constants.js';
import { decodeMethod, METHOD_INFO, type IncomingMethod } from '../../generated/dispatch.js';
import type { BrokerState, ConsumerHost, ConsumerRecord } from './broker-state.js';
import { Channels } from './channels.js';
import { contentFrames, heartbeatFrame, methodFrame } from './frames.js';
import { DEFAULT_SERVER_PROPERTIES, PROTOCOL_HEADER } from './wire-build.js';

const CHANNEL_MAX = 2047;
const FRAME_MAX = 131_072;
/** How long we wait for the client's close-ok after our connection.close. */
const CLOSE_OK_WAIT = 1000;

type Phase = 'header' | 'start' | 'tune' | 'open' | 'ready' | 'closing' | 'closed';

export class Session implements ConsumerHost {
  /** Resolves once the socket has closed. */
  readonly closed: Promise<void>;
  private phase: Phase = 'header';
  private header = Buffer.alloc(0);
  private stalled = false;
  private frameMax = FRAME_MAX;
  private heartbeat: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private readonly parser = new FrameParser((type, channel, buf, start, end) => this.onFrame(type, channel, buf, start, end));
  private readonly channels: Channels;

  constructor(
    private readonly socket: Socket,
    private readonly state: BrokerState,
  ) {
    this.channels = new Channels({ state, consumerHost: this, send: (frames) => void this.send(frames) });
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // a reset by the client is not our error; 'close' follows
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise<void>((resolve) => {
      socket.once('close', () => {
        this.phase = 'closed';
        this.stopTimers();
        this.channels.reset();
        state.connectionEnded(this);
        resolve();
      });
    });
  }

  /** Open and answering: past the handshake, not closing, not stalled. */
  get isOpen(): boolean {
    return this.phase === 'ready';
  }

  hasChannel(id: number): boolean {
    return this.phase === 'ready' && this.channels.isOpen(id);
  }

  // ------------------------------------------------------------ faults

  /** connection.close with `code`; resolves once the socket has closed (after close-ok, or 1 s without it). */
  closeConnection(code: number, text: string): Promise<void> {
    if (this.phase !== 'closed' && this.phase !== 'closing') this.startClose(code, text);
    return this.closed;
  }

  /** channel.close with `code` (class and method id 0); resolves on the client's close-ok (at once when stalled: it would go unread). */
  closeChannel(id: number, code: number, text: string): Promise<void> {
    if (this.phase !== 'ready') return Promise.resolve();
    const closeOk = this.channels.close(id, code, text);
    return this.stalled ? Promise.resolve() : closeOk;
  }

  /** Destroy the socket at once (no close method). */
  drop(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  /** From now on, read nothing and answer nothing (heartbeats included). */
  stall(): void {
    this.stalled = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.send([Buffer.from(bytes)]);
  }

  // ------------------------------------------------------------ consumer host

  deliver(c: ConsumerRecord, body: Buffer, properties: BasicPropertiesInit | undefined): Promise<void> {
    if (!this.hasChannel(c.channel)) return Promise.reject(new Error(`FakeBroker: channel ${c.channel} of consumer '${c.tag}' is not open`));
    const deliver = methodFrame(c.channel, encodeBasicDeliver, {
      consumerTag: c.tag,
      deliveryTag: this.channels.nextDeliveryTag(c.channel),
      redelivered: false,
      exchange: '',
      routingKey: c.queue,
    });
    return this.send([deliver, ...contentFrames(c.channel, body, properties, this.frameMax)]);
  }

  cancel(c: ConsumerRecord): void {
    if (this.hasChannel(c.channel)) void this.send([methodFrame(c.channel, encodeBasicCancel, { consumerTag: c.tag, noWait: true })]);
  }

  // ------------------------------------------------------------ inbound

  private onData(chunk: Buffer): void {
    if (this.stalled || this.phase === 'closed') return;
    let data = chunk;
    if (this.phase === 'header') {
      const need = 8 - this.header.length;
      this.header = Buffer.concat([this.header, data.subarray(0, need)]);
      data = data.subarray(need);
      if (this.header.length < 8) return;
      if (!this.header.equals(PROTOCOL_HEADER)) {
        // What a broker does with another protocol: say which one it speaks, and hang up.
        this.phase = 'closed';
        this.socket.end(PROTOCOL_HEADER);
        return;
      }
      this.phase = 'start';
      const mechanisms = 'PLAIN AMQPLAIN EXTERNAL';
      void this.send([
        methodFrame(0, encodeConnectionStart, { versionMajor: 0, versionMinor: 9, serverProperties: DEFAULT_SERVER_PROPERTIES, mechanisms, locales: 'en_US' }),
      ]);
      if (data.length === 0) return;
    }
    try {
      this.parser.push(data);
    } catch (err) {
      this.parser.resync();
      if (this.phase === 'closing') return;
      if (err instanceof FrameError) this.startClose(err.code, err.replyText);
      else this.startClose(INTERNAL_ERROR, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (this.stalled) return;
    if (this.phase === 'closing') {
      // After our connection.close, only close and close-ok count.
      if (type === FRAME_METHOD && channel === 0) this.onClosingMethod(decodeMethod(new Reader(buf, start, end)));
      return;
    }
    if (type === FRAME_METHOD) {
      const m = decodeMethod(new Reader(buf, start, end));
      if (channel === 0) this.onConnectionMethod(m);
      else if (this.phase !== 'ready') throw new FrameError(`${METHOD_INFO[m.id].name} on channel ${channel} before connection.open`, COMMAND_INVALID);
      else this.channels.onMethod(channel, m);
    } else if (type === FRAME_HEADER) {
      this.channels.onHeader(channel, buf, start, end);
    } else if (type === FRAME_BODY) {
      this.channels.onBody(channel, buf, start, end);
    }
    // Heartbeats need no answer.
  }

  private onConnectionMethod(m: IncomingMethod): void {
    const expected = (): never => {
      throw new FrameError(`${METHOD_INFO[m.id].name} was not expected (connection phase '${this.phase}')`, COMMAND_INVALID);
    };
    switch (m.id) {
      case CONNECTION_START_OK:
        if (this.phase !== 'start') expected();
        this.phase = 'tune';
        void this.send([methodFrame(0, encodeConnectionTune, { channelMax: CHANNEL_MAX, frameMax: FRAME_MAX, heartbeat: 0 })]);
        return;
      case CONNECTION_TUNE_OK: {
        if (this.phase !== 'tune') expected();
        this.phase = 'open';
        this.frameMax = m.args.frameMax === 0 ? FRAME_MAX : Math.min(m.args.frameMax, FRAME_MAX);
        this.parser.maxPayload = this.frameMax - 8;
        if (m.args.heartbeat > 0) this.startHeartbeat(m.args.heartbeat);
        return;
      }
      case CONNECTION_OPEN:
        if (this.phase !== 'open') expected();
        this.phase = 'ready';
        void this.send([methodFrame(0, encodeConnectionOpenOk, undefined)]);
        return;
      case CONNECTION_CLOSE:
        this.ending();
        void this.send([methodFrame(0, encodeConnectionCloseOk, undefined)]).then(() => this.socket.end());
        return;
      case CONNECTION_UPDATE_SECRET:
        if (this.phase !== 'ready') expected();
        void this.send([methodFrame(0, encodeConnectionUpdateSecretOk, undefined)]);
        return;
      default:
        expected();
    }
  }

  private onClosingMethod(m: IncomingMethod): void {
    if (m.id === CONNECTION_CLOSE) void this.send([methodFrame(0, encodeConnectionCloseOk, undefined)]).then(() => this.socket.destroy());
    else if (m.id === CONNECTION_CLOSE_OK) this.socket.destroy();
  }

  // ------------------------------------------------------------ outbound

  private startClose(code: number, text: string): void {
    const wasOpen = this.phase !== 'header';
    this.ending();
    if (!wasOpen) {
      this.socket.destroy();
      return;
    }
    void this.send([methodFrame(0, encodeConnectionClose, { replyCode: code, replyText: fitShortstr(text), classId: 0, methodId: 0 })]);
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_OK_WAIT);
  }

  /** The connection is closing: its channels and consumers are gone at once (no delivery reaches it now). */
  private ending(): void {
    this.phase = 'closing';
    this.channels.reset();
    this.state.connectionEnded(this);
  }

  private startHeartbeat(seconds: number): void {
    const ms = Math.max(1, Math.floor((seconds * 1000) / 2));
    this.heartbeat = setInterval(() => void this.send([heartbeatFrame()]), ms);
    this.heartbeat.unref();
  }

  private stopTimers(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.heartbeat = this.closeTimer = null;
  }

  /** Write frames; resolves once the socket took them (or at once if it is gone). Never rejects. */
  private send(frames: Buffer[]): Promise<void> {
    const s = this.socket;
    if (s.destroyed || !s.writable || frames.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      s.cork();
      for (let i = 0; i < frames.length - 1; i++) s.write(frames[i]!);
      s.write(frames[frames.length - 1]!, () => resolve());
      s.uncork();
    });
  }
}
