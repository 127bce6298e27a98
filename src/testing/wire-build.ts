// Frame builders for scripted FakeBroker connections, straight from raw
// Buffers. Independent on purpose: nothing here imports the client's codecs,
// src/wire or generated/. A test double built on the client's own encoders
// and decoders cannot catch a symmetric codec bug (the same mistake made on
// both sides reads back as correct); these builders are a second, separate
// reading of the spec. They check nothing, so a script can send bytes a real
// broker never would.

/** "AMQP" 0 0 9 1: the protocol header of AMQP 0-9-1. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** The octet that ends every frame (0xCE). */
export const FRAME_END = 0xce;
/** Frame type of a method frame. */
export const FRAME_METHOD = 1;
/** Frame type of a content header frame. */
export const FRAME_HEADER = 2;
/** Frame type of a content body frame. */
export const FRAME_BODY = 3;
/** Frame type of a heartbeat frame. */
export const FRAME_HEARTBEAT = 8;

/** One octet. */
export function u8(n: number): Buffer {
  const b = Buffer.alloc(1);
  b.writeUInt8(n);
  return b;
}
/** A 16-bit unsigned integer, big-endian. */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
/** A 32-bit unsigned integer, big-endian. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
/** A 64-bit unsigned integer, big-endian. */
export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
/** Short string: length octet + bytes. Not checked, so over-long input can be sent on purpose (the length wraps). */
export function shortstr(s: string | Uint8Array): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return Buffer.concat([u8(bytes.length & 0xff), bytes]);
}
/** Long string: u32 length + bytes. */
export function longstr(s: string | Uint8Array): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return Buffer.concat([u32(bytes.length), bytes]);
}

/** A value `table()` can encode (see there for the type codes). */
export type FieldValue = string | number | boolean | null | Buffer | FieldTable | FieldValue[];
/** A field table as `table()` encodes it. */
export interface FieldTable {
  [key: string]: FieldValue;
}

function fieldValue(v: FieldValue): Buffer {
  if (v === null) return Buffer.from('V');
  if (typeof v === 'string') return Buffer.concat([Buffer.from('S'), longstr(v)]);
  if (typeof v === 'boolean') return Buffer.from([0x74 /* t */, v ? 1 : 0]);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
      const b = Buffer.alloc(5);
      b.write('I');
      b.writeInt32BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b.write('d');
    b.writeDoubleBE(v, 1);
    return b;
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from('x'), longstr(v)]);
  if (Array.isArray(v)) {
    const items = Buffer.concat(v.map(fieldValue));
    return Buffer.concat([Buffer.from('A'), u32(items.length), items]);
  }
  return Buffer.concat([Buffer.from('F'), table(v)]);
}

/** Field table (RabbitMQ type codes): string→S, int32→I, other number→d, boolean→t, null→V, Buffer→x, array→A, object→F. */
export function table(t: FieldTable): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(t)) parts.push(shortstr(k), fieldValue(v));
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}

/** A whole frame: type, channel, size, payload, frame-end (or a wrong `end` on purpose). */
export function frame(type: number, channel: number, payload: Uint8Array, end: number = FRAME_END): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, u8(end)]);
}

/** A method frame: class id, method id, then the arguments as already encoded bytes. */
export function methodFrame(channel: number, classId: number, methodId: number, args: Uint8Array = Buffer.alloc(0)): Buffer {
  return frame(FRAME_METHOD, channel, Buffer.concat([u16(classId), u16(methodId), args]));
}

/** Content header frame: class-id, weight 0, body size, property flags (default none) and raw property bytes. */
export function contentHeaderFrame(
  channel: number,
  classId: number,
  bodySize: number | bigint,
  flags = 0,
  properties: Uint8Array = Buffer.alloc(0),
): Buffer {
  return frame(FRAME_HEADER, channel, Buffer.concat([u16(classId), u16(0), u64(bodySize), u16(flags), properties]));
}

/** A content body frame. */
export function bodyFrame(channel: number, body: Uint8Array | string): Buffer {
  return frame(FRAME_BODY, channel, typeof body === 'string' ? Buffer.from(body) : body);
}

/** A heartbeat frame (channel 0, empty payload). */
export function heartbeatFrame(): Buffer {
  return frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
}

/** The server properties FakeBroker sends in connection.start (both modes): RabbitMQ's capabilities. */
export const DEFAULT_SERVER_PROPERTIES: FieldTable = {
  product: 'amqp091 FakeBroker',
  version: '0.0.0',
  platform: 'Node.js',
  capabilities: {
    publisher_confirms: true,
    exchange_exchange_bindings: true,
    'basic.nack': true,
    consumer_cancel_notify: true,
    'connection.blocked': true,
    authentication_failure_close: true,
    per_consumer_qos: true,
    direct_reply_to: true,
  },
};

/** The arguments of connection.start; each has a default. */
export interface StartOptions {
  /** Default 0. */
  readonly versionMajor?: number;
  /** Default 9. */
  readonly versionMinor?: number;
  /** Default `DEFAULT_SERVER_PROPERTIES`. */
  readonly serverProperties?: FieldTable;
  /** Space-separated SASL mechanisms; default 'PLAIN AMQPLAIN'. */
  readonly mechanisms?: string;
  /** Default 'en_US'. */
  readonly locales?: string;
}

/** connection.start (10/10). */
export function connectionStart(o: StartOptions = {}): Buffer {
  return methodFrame(
    0,
    10,
    10,
    Buffer.concat([
      u8(o.versionMajor ?? 0),
      u8(o.versionMinor ?? 9),
      table(o.serverProperties ?? DEFAULT_SERVER_PROPERTIES),
      longstr(o.mechanisms ?? 'PLAIN AMQPLAIN'),
      longstr(o.locales ?? 'en_US'),
    ]),
  );
}

/** The arguments of connection.tune; each has a default. */
export interface TuneOptions {
  /** Default 2047. */
  readonly channelMax?: number;
  /** Default 131072. */
  readonly frameMax?: number;
  /** Seconds; default 0 (no heartbeats). */
  readonly heartbeat?: number;
}

/** connection.tune (10/30). Defaults: channel-max 2047, frame-max 131072, heartbeat 0. */
export function connectionTune(o: TuneOptions = {}): Buffer {
  return methodFrame(0, 10, 30, Buffer.concat([u16(o.channelMax ?? 2047), u32(o.frameMax ?? 131072), u16(o.heartbeat ?? 0)]));
}

/** connection.open-ok (10/41), reserved shortstr "". */
export function connectionOpenOk(): Buffer {
  return methodFrame(0, 10, 41, shortstr(''));
}

/** connection.close (10/50). */
export function connectionClose(replyCode: number, replyText: string, classId = 0, methodId = 0): Buffer {
  return methodFrame(0, 10, 50, closeArgs(replyCode, replyText, classId, methodId));
}

/** connection.close-ok (10/51). */
export function connectionCloseOk(): Buffer {
  return methodFrame(0, 10, 51);
}

/** channel.open-ok (20/11), reserved longstr "". */
export function channelOpenOk(channel: number): Buffer {
  return methodFrame(channel, 20, 11, longstr(''));
}

/** channel.close (20/40). */
export function channelClose(channel: number, replyCode: number, replyText: string, classId = 0, methodId = 0): Buffer {
  return methodFrame(channel, 20, 40, closeArgs(replyCode, replyText, classId, methodId));
}

/** channel.close-ok (20/41). */
export function channelCloseOk(channel: number): Buffer {
  return methodFrame(channel, 20, 41);
}

function closeArgs(replyCode: number, replyText: string, classId: number, methodId: number): Buffer {
  return Buffer.concat([u16(replyCode), shortstr(replyText), u16(classId), u16(methodId)]);
}
