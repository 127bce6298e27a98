// Readers for what a client sends to a scripted FakeBroker connection, from
// raw Buffers. Like wire-build.ts, independent on purpose of the client's
// codecs (src/wire, generated/): a double that decodes with the code under
// test would agree with that code's mistakes.

import { FRAME_METHOD } from './wire-build.js';

/** A whole frame a client sent. */
export interface Frame {
  /** Frame type: 1 method, 2 content header, 3 body, 8 heartbeat (or anything else the client sent). */
  readonly type: number;
  /** The channel number. */
  readonly channel: number;
  /** The bytes between the size field and frame-end. */
  readonly payload: Buffer;
  /** For method frames: the class id; otherwise -1. */
  readonly classId: number;
  /** For method frames: the method id; otherwise -1. */
  readonly methodId: number;
  /** For method frames: the arguments after class/method id. */
  readonly args: Buffer;
}

/** A cursor over a Buffer for reading AMQP fields. Throws RangeError on truncation. */
export class Reader {
  /** Where the next read starts. */
  offset = 0;
  /** Read `buf` from its start. */
  constructor(
    /** The bytes read. */
    readonly buf: Buffer,
  ) {}
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new RangeError(`truncated: need ${n} bytes at ${this.offset} of ${this.buf.length}`);
  }
  private fixed<T>(n: number, read: (at: number) => T): T {
    this.need(n);
    const v = read(this.offset);
    this.offset += n;
    return v;
  }
  /** One octet. */
  u8(): number {
    return this.fixed(1, (at) => this.buf.readUInt8(at));
  }
  /** A 16-bit unsigned integer. */
  u16(): number {
    return this.fixed(2, (at) => this.buf.readUInt16BE(at));
  }
  /** A 32-bit unsigned integer. */
  u32(): number {
    return this.fixed(4, (at) => this.buf.readUInt32BE(at));
  }
  /** A 64-bit unsigned integer. */
  u64(): bigint {
    return this.fixed(8, (at) => this.buf.readBigUInt64BE(at));
  }
  /** The next `n` bytes (a view, not a copy). */
  bytes(n: number): Buffer {
    return this.fixed(n, (at) => this.buf.subarray(at, at + n));
  }
  /** A short string, as UTF-8. */
  shortstr(): string {
    return this.bytes(this.u8()).toString('utf8');
  }
  /** A long string's bytes. */
  longstr(): Buffer {
    return this.bytes(this.u32());
  }
  /** A field table. */
  table(): Record<string, unknown> {
    const r = new Reader(this.longstr());
    const out: Record<string, unknown> = {};
    while (r.offset < r.buf.length) {
      const key = r.shortstr();
      out[key] = r.value();
    }
    return out;
  }
  /** One field value (RabbitMQ's type codes). */
  value(): unknown {
    const t = String.fromCharCode(this.u8());
    switch (t) {
      case 't':
        return this.u8() !== 0;
      case 'b':
        return this.fixed(1, (at) => this.buf.readInt8(at));
      case 'B':
        return this.u8();
      case 's':
        return this.fixed(2, (at) => this.buf.readInt16BE(at));
      case 'u':
        return this.u16();
      case 'I':
        return this.fixed(4, (at) => this.buf.readInt32BE(at));
      case 'i':
        return this.u32();
      case 'l':
        return this.fixed(8, (at) => this.buf.readBigInt64BE(at));
      case 'f':
        return this.fixed(4, (at) => this.buf.readFloatBE(at));
      case 'd':
        return this.fixed(8, (at) => this.buf.readDoubleBE(at));
      case 'D': {
        const scale = this.u8();
        return { scale, value: this.fixed(4, (at) => this.buf.readInt32BE(at)) };
      }
      case 'S':
        return this.longstr().toString('utf8');
      case 'x':
        return Buffer.from(this.longstr());
      case 'T':
        return this.u64();
      case 'V':
        return null;
      case 'F':
        return this.table();
      case 'A': {
        const r = new Reader(this.longstr());
        const items: unknown[] = [];
        while (r.offset < r.buf.length) items.push(r.value());
        return items;
      }
      default:
        throw new RangeError(`unknown field type ${JSON.stringify(t)}`);
    }
  }
}

/** A `Frame` from its parts (class and method id read from a method frame's payload). */
export function toFrame(type: number, channel: number, payload: Buffer): Frame {
  if (type === FRAME_METHOD && payload.length >= 4) {
    return { type, channel, payload, classId: payload.readUInt16BE(0), methodId: payload.readUInt16BE(2), args: payload.subarray(4) };
  }
  return { type, channel, payload, classId: -1, methodId: -1, args: Buffer.alloc(0) };
}

/** The arguments of connection.start-ok. */
export interface StartOk {
  /** The client's properties table. */
  readonly clientProperties: Record<string, unknown>;
  /** The SASL mechanism it chose. */
  readonly mechanism: string;
  /** The SASL response (PLAIN: `\0user\0password`). */
  readonly response: Buffer;
  /** The locale it chose. */
  readonly locale: string;
}
/** Read connection.start-ok (10/11). */
export function parseStartOk(f: Frame): StartOk {
  const r = new Reader(f.args);
  return { clientProperties: r.table(), mechanism: r.shortstr(), response: Buffer.from(r.longstr()), locale: r.shortstr() };
}

/** The arguments of connection.tune-ok. */
export interface TuneOk {
  /** The channel-max the client settled on. */
  readonly channelMax: number;
  /** The frame-max the client settled on. */
  readonly frameMax: number;
  /** The heartbeat (seconds) the client settled on. */
  readonly heartbeat: number;
}
/** Read connection.tune-ok (10/31). */
export function parseTuneOk(f: Frame): TuneOk {
  const r = new Reader(f.args);
  return { channelMax: r.u16(), frameMax: r.u32(), heartbeat: r.u16() };
}

/** The arguments of connection.open. */
export interface Open {
  /** The virtual host the client asked for. */
  readonly virtualhost: string;
  /** The deprecated insist bit. */
  readonly insist: boolean;
}
/** Read connection.open (10/40). */
export function parseOpen(f: Frame): Open {
  const r = new Reader(f.args);
  const virtualhost = r.shortstr();
  r.shortstr(); // reserved-1 (capabilities)
  const bits = r.offset < r.buf.length ? r.u8() : 0;
  return { virtualhost, insist: (bits & 1) !== 0 };
}

/** The arguments of connection.close or channel.close. */
export interface Close {
  /** The reply code. */
  readonly replyCode: number;
  /** The reply text. */
  readonly replyText: string;
  /** The class id of the method that failed, or 0. */
  readonly classId: number;
  /** The method id of the method that failed, or 0. */
  readonly methodId: number;
}
/** Read connection.close (10/50) or channel.close (20/40). */
export function parseClose(f: Frame): Close {
  const r = new Reader(f.args);
  return { replyCode: r.u16(), replyText: r.shortstr(), classId: r.u16(), methodId: r.u16() };
}
