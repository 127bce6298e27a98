// Pure pieces of the connection handshake: client properties, SASL
// responses, and tune negotiation. No I/O and no state here (handshake.ts
// holds the state machine that uses them).

import { Writer, type FieldTable } from './wire/index.js';
import { FRAME_MIN_SIZE } from '../generated/index.js';
import { LOGIN_METHODS, type LoginMethod, type ProtocolOptions, UNLIMITED_FRAME_MAX } from './options.js';
import { VERSION } from './version.js';

/** The capabilities this library really handles. */
export const CLIENT_CAPABILITIES: FieldTable = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
};

function isPlainTable(v: unknown): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

export function clientProperties(o: ProtocolOptions): FieldTable {
  const user = o.clientProperties ?? {};
  const props: FieldTable = {
    product: 'amqp091',
    version: VERSION,
    platform: `Node.js ${process.version}`,
    information: 'https://www.npmjs.com/package/amqp091',
    ...user,
  };
  const userCaps = user['capabilities'];
  props['capabilities'] = isPlainTable(userCaps) ? { ...CLIENT_CAPABILITIES, ...userCaps } : { ...CLIENT_CAPABILITIES };
  if (o.connectionName !== undefined) props['connection_name'] = o.connectionName;
  return props;
}

export function checkLoginMethod(m: unknown): LoginMethod {
  if (typeof m === 'string' && (LOGIN_METHODS as readonly string[]).includes(m)) return m as LoginMethod;
  throw new TypeError(`loginMethod must be one of ${LOGIN_METHODS.join(', ')}, got ${String(m)}`);
}

/** The SASL response of connection.start-ok for `method`. */
export function saslResponse(method: LoginMethod, login: string, password: string): Buffer {
  switch (method) {
    case 'PLAIN':
      return Buffer.from(`\u0000${login}\u0000${password}`, 'utf8');
    case 'AMQPLAIN': {
      // A field table without its 4-byte length prefix.
      const w = new Writer(64);
      w.table({ LOGIN: login, PASSWORD: password }, 'connection.start-ok.response');
      return Buffer.from(w.buf.subarray(4, w.pos));
    }
    case 'EXTERNAL':
      return Buffer.alloc(0);
  }
}

/** Whether the server's space-separated mechanism list offers `method`. */
export function serverOffers(mechanisms: string, method: LoginMethod): boolean {
  return mechanisms.split(/\s+/).includes(method);
}

export interface Tuning {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/** The lower non-zero of the two; 0 only when both are 0. */
function lowerNonZero(client: number, server: number): number {
  if (client === 0) return server;
  if (server === 0) return client;
  return Math.min(client, server);
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new TypeError(`${name} must be an integer ${min}..${max}, got ${String(v)}`);
  return v;
}

/** Check the client's tuning options up front (before any socket is opened). */
export function checkTuningOptions(o: ProtocolOptions): void {
  if (o.channelMax !== undefined) checkInt('channelMax', o.channelMax, 0, 0xffff);
  if (o.frameMax !== undefined && o.frameMax !== 0) checkInt('frameMax', o.frameMax, FRAME_MIN_SIZE, 0xffffffff);
  if (o.heartbeat !== undefined) checkInt('heartbeat', o.heartbeat, 0, 0xffff);
  if (o.maxBodySize !== undefined) checkInt('maxBodySize', o.maxBodySize, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * What the client answers in tune-ok. Heartbeat: 0 disables, absent
 * accepts the server's, otherwise the lower non-zero. channel-max and
 * frame-max: the lower non-zero (0 = no limit on that side).
 */
export function negotiate(o: ProtocolOptions, server: Tuning): Tuning {
  const channelMax = lowerNonZero(o.channelMax ?? 0, server.channelMax);
  const frameMax = lowerNonZero(o.frameMax ?? 0, server.frameMax);
  let heartbeat: number;
  if (o.heartbeat === undefined) heartbeat = server.heartbeat;
  else if (o.heartbeat === 0) heartbeat = 0;
  else heartbeat = lowerNonZero(o.heartbeat, server.heartbeat);
  return { channelMax, frameMax, heartbeat };
}

/** The usable limits behind negotiated values (0 = no limit). */
export function effectiveChannelMax(negotiated: number): number {
  return negotiated === 0 ? 0xffff : negotiated;
}

export function effectiveFrameMax(negotiated: number): number {
  return negotiated === 0 ? UNLIMITED_FRAME_MAX : negotiated;
}
