// Handshake: the opening of a connection as a small state machine.
//
//   start    connection.start  → start-ok (client properties, SASL response)
//   tune     connection.secure → secure-ok (repeatable), connection.tune → tune-ok + open
//   open-ok  connection.open-ok → done
//
// It decides and encodes; the connection owns the socket and applies the
// negotiated tuning (`HandshakeHost`).

import { AmqpClosedConnection, FrameError } from './errors.js';
import { FRAME_MIN_SIZE } from '../generated/constants.js';
import {
  CONNECTION_OPEN_OK,
  CONNECTION_SECURE,
  CONNECTION_START,
  CONNECTION_TUNE,
  encodeConnectionOpen,
  encodeConnectionSecureOk,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  type ConnectionStart,
  type ConnectionTune,
} from '../generated/connection.js';
import type { IncomingMethod } from '../generated/dispatch.js';
import type { MethodEncoder } from './framing/frame-writer.js';
import type { FieldTable } from './wire/index.js';
import { checkLoginMethod, clientProperties, negotiate, saslResponse, serverOffers, type Tuning } from './negotiation.js';
import type { ProtocolOptions } from './options.js';

export type HandshakeStep = 'start' | 'tune' | 'open-ok' | 'done';

export interface HandshakeHost {
  /** Write a method on channel 0. */
  send<T>(encode: MethodEncoder<T>, args: T): void;
  /** connection.tune was answered: apply the negotiated values. */
  tuned(t: Tuning): void;
  /** connection.open-ok arrived: the connection is open. */
  opened(serverProperties: FieldTable): void;
  /** The handshake cannot go on (e.g. the login method is not offered); end without telling the broker. */
  refused(err: AmqpClosedConnection): void;
}

export class Handshake {
  step: HandshakeStep = 'start';
  /** The SASL response holds the password: an ES private field, dropped once the connection is open. */
  #sasl: Buffer;

  /** Throws `TypeError` for an unsupported login method (before any socket is used). */
  constructor(
    private readonly options: Readonly<Omit<ProtocolOptions, 'password'>>,
    password: string,
    private readonly host: HandshakeHost,
  ) {
    const method = checkLoginMethod(options.loginMethod ?? 'PLAIN');
    this.#sasl = saslResponse(method, options.login ?? 'guest', password);
  }

  /**
   * A connection method arrived while the connection is not open yet:
   * true when the handshake took it, false when it does not belong here.
   * Throws `FrameError` when the server broke the handshake.
   */
  onMethod(m: IncomingMethod): boolean {
    switch (m.id) {
      case CONNECTION_START:
        this.onStart(m.args);
        return true;
      case CONNECTION_SECURE:
        if (this.step !== 'tune') return false;
        this.host.send(encodeConnectionSecureOk, { response: this.#sasl });
        return true;
      case CONNECTION_TUNE:
        this.onTune(m.args);
        return true;
      case CONNECTION_OPEN_OK:
        if (this.step !== 'open-ok') return false;
        this.step = 'done';
        this.#sasl = Buffer.alloc(0);
        this.host.opened(this.serverProperties);
        return true;
      default:
        return false;
    }
  }

  private serverProperties: FieldTable = {};

  private onStart(a: ConnectionStart): void {
    if (this.step !== 'start') throw new FrameError('unexpected connection.start', 503);
    this.serverProperties = a.serverProperties;
    if (a.versionMajor !== 0 || a.versionMinor !== 9) {
      throw new FrameError(`the server speaks AMQP ${a.versionMajor}-${a.versionMinor}, not 0-9`, 503);
    }
    const method = checkLoginMethod(this.options.loginMethod ?? 'PLAIN');
    if (!serverOffers(a.mechanisms, method)) {
      this.host.refused(
        new AmqpClosedConnection({
          code: 0,
          replyText: `the server does not offer login method ${method} (it offers: ${a.mechanisms})`,
        }),
      );
      return;
    }
    this.host.send(encodeConnectionStartOk, {
      clientProperties: clientProperties(this.options),
      mechanism: method,
      response: this.#sasl,
      locale: 'en_US',
    });
    this.step = 'tune';
  }

  private onTune(a: ConnectionTune): void {
    if (this.step !== 'tune') throw new FrameError('unexpected connection.tune', 503);
    if (a.frameMax !== 0 && a.frameMax < FRAME_MIN_SIZE) {
      // Below the spec's minimum no method is guaranteed to fit a frame.
      throw new FrameError(`the server proposed frame-max ${a.frameMax}, below the minimum of ${FRAME_MIN_SIZE}`, 530);
    }
    const t = negotiate(this.options, a);
    this.host.tuned(t);
    this.host.send(encodeConnectionTuneOk, t);
    this.host.send(encodeConnectionOpen, { virtualHost: this.options.virtualhost ?? '/', insist: this.options.insist ?? false });
    this.step = 'open-ok';
  }
}
