// Writer: appends AMQP wire primitives to a growable buffer. Generated
// encoders call it field by field; the framing layer reuses one Writer per
// connection so a steady stream of frames allocates nothing.

import { Decimal, TypedValue, type FieldTable, type FieldValue, type WireTypeName } from './values.js';
import { keysInWireOrder, memoCode, memoRaw, WIRE_TYPES, type WireTypeMemo } from './wire-types.js';

const TWO_32 = 0x1_0000_0000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Deeper tables are refused on both sides (502 syntax-error when decoding). */
export const MAX_TABLE_DEPTH = 64;

function badInt(field: string, v: unknown, what: string): never {
  throw new TypeError(`${field}: ${String(v)} is not a valid ${what}`);
}

function tooLong(field: string, bytes: number, max: number): never {
  throw new TypeError(`${field}: ${bytes} bytes, max ${max}`);
}

/** Strings up to this many UTF-16 units are tried as ASCII by a JS loop first. */
const ASCII_LOOP_MAX = 48;

export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Make room for `n` more bytes, keeping what was written. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  // The integer writers check their range themselves (one compare), so a
  // bad value from the user is a TypeError naming the field, not a
  // RangeError from deep inside Buffer.

  u8(v: number, field = 'octet'): void {
    if ((v & 0xff) !== v) badInt(field, v, 'octet 0..255');
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number, field = 'short'): void {
    if ((v & 0xffff) !== v) badInt(field, v, 'short 0..65535');
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number, field = 'long'): void {
    if (v >>> 0 !== v) badInt(field, v, 'long 0..2^32-1');
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** Unsigned 64-bit from a JS number (delivery tags, counts): 0..2^53-1. */
  u64(v: number, field: string): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`${field}: ${String(v)} is not an integer 0..2^53-1`);
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.pos);
    this.buf.writeUInt32BE(v % TWO_32, this.pos + 4);
    this.pos += 8;
  }

  /** A POSIX timestamp in whole seconds (milliseconds are truncated). */
  timestamp(d: Date, field: string): void {
    const ms = d instanceof Date ? d.getTime() : NaN;
    if (Number.isNaN(ms)) throw new TypeError(`${field}: not a valid Date`);
    const secs = Math.floor(ms / 1000);
    if (secs < 0) throw new TypeError(`${field}: timestamps before 1970 cannot be encoded`);
    this.u64(secs, field);
  }

  /** A short string: at most 255 bytes of UTF-8; longer throws, never truncates. */
  shortstr(s: string, field: string): void {
    if (typeof s !== 'string') throw new TypeError(`${field}: expected a string, got ${typeof s}`);
    // Up to 85 UTF-16 units can never exceed 255 bytes (3 bytes per unit at most).
    if (s.length <= 85) {
      this.ensure(256);
      const at = this.pos + 1;
      const n = s.length <= ASCII_LOOP_MAX && this.ascii(s, at) ? s.length : this.buf.write(s, at);
      this.buf[this.pos] = n;
      this.pos = at + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 255) tooLong(field, n, 255);
    this.ensure(1 + n);
    this.buf[this.pos] = n;
    this.buf.write(s, this.pos + 1, n);
    this.pos += 1 + n;
  }

  /**
   * Copy `s` to `at` as single bytes if it is all ASCII (true), else write
   * nothing that counts (false). For short strings a JS loop beats a call
   * into Buffer#write; the caller has ensured room for s.length bytes.
   */
  private ascii(s: string, at: number): boolean {
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    return true;
  }

  /** A long string from text (UTF-8) or bytes. */
  longstr(s: string | Uint8Array, field: string): void {
    if (typeof s === 'string') {
      if (s.length <= ASCII_LOOP_MAX) {
        this.ensure(4 + 3 * s.length);
        if (this.ascii(s, this.pos + 4)) {
          this.buf.writeUInt32BE(s.length, this.pos);
          this.pos += 4 + s.length;
          return;
        }
      }
      const n = Buffer.byteLength(s, 'utf8');
      if (n > 0xffffffff) tooLong(field, n, 0xffffffff);
      this.ensure(4 + n);
      this.buf.writeUInt32BE(n, this.pos);
      this.buf.write(s, this.pos + 4, n);
      this.pos += 4 + n;
    } else if (s instanceof Uint8Array) {
      this.u32(s.length);
      this.bytes(s);
    } else {
      throw new TypeError(`${field}: expected a string or bytes, got ${typeof s}`);
    }
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A field table (RabbitMQ type codes); `undefined` writes an empty one. */
  table(t: FieldTable | undefined, field: string, depth = 0): void {
    if (t === undefined || t === null) {
      this.u32(0);
      return;
    }
    if (typeof t !== 'object' || Array.isArray(t) || t instanceof Uint8Array || t instanceof Date) {
      throw new TypeError(`${field}: expected a plain object as field table`);
    }
    if (depth >= MAX_TABLE_DEPTH) throw new TypeError(`${field}: tables nested deeper than ${MAX_TABLE_DEPTH}`);
    this.ensure(4);
    const start = this.pos;
    this.pos += 4;
    const memo = (t as { [WIRE_TYPES]?: WireTypeMemo })[WIRE_TYPES];
    for (const key of keysInWireOrder(t)) {
      this.shortstr(key, `${field}.${key} (key)`);
      this.fieldValue(t[key], `${field}.${key}`, depth, memo?.[key]);
    }
    this.buf.writeUInt32BE(this.pos - start - 4, start);
  }

  private array(a: FieldValue[], field: string, depth: number): void {
    if (depth >= MAX_TABLE_DEPTH) throw new TypeError(`${field}: arrays nested deeper than ${MAX_TABLE_DEPTH}`);
    this.ensure(4);
    const start = this.pos;
    this.pos += 4;
    const memo = (a as { [WIRE_TYPES]?: WireTypeMemo })[WIRE_TYPES];
    for (let i = 0; i < a.length; i++) this.fieldValue(a[i], `${field}[${i}]`, depth, memo?.[i]);
    this.buf.writeUInt32BE(this.pos - start - 4, start);
  }

  /**
   * One type-code octet and the value. `remembered` is the memo entry of a
   * decoded value (see wire-types.ts), so a decoded table re-encodes to the
   * same bytes.
   */
  private fieldValue(v: FieldValue, field: string, depth: number, remembered?: number): void {
    if (remembered !== undefined && this.asRemembered(remembered, v, field)) return;
    switch (typeof v) {
      case 'string':
        this.u8(0x53); // S
        this.longstr(v, field);
        return;
      case 'boolean':
        this.u8(0x74); // t
        this.u8(v ? 1 : 0);
        return;
      case 'number':
        this.number(v, field);
        return;
      case 'bigint':
        this.int64(v, field);
        return;
      case 'undefined':
        this.u8(0x56); // V
        return;
      case 'object':
        if (v === null) this.u8(0x56);
        else if (v instanceof Uint8Array) {
          this.u8(0x78); // x
          this.longstr(v, field);
        } else if (v instanceof Date) {
          this.u8(0x54); // T
          this.timestamp(v, field);
        } else if (Array.isArray(v)) {
          this.u8(0x41); // A
          this.array(v, field, depth + 1);
        } else if (v instanceof Decimal) {
          this.u8(0x44); // D
          this.u8(v.scale);
          this.ensure(4);
          this.buf.writeInt32BE(v.value, this.pos);
          this.pos += 4;
        } else if (v instanceof TypedValue) {
          this.typedValue(v, field, depth);
        } else if (!isPlainObject(v)) {
          throw new TypeError(`${field}: a ${v.constructor?.name ?? 'object'} cannot be encoded in a field table`);
        } else {
          this.u8(0x46); // F
          this.table(v, field, depth + 1);
        }
        return;
      default:
        throw new TypeError(`${field}: a ${typeof v} cannot be encoded in a field table`);
    }
  }

  private number(v: number, field: string): void {
    const code = numberTypeCode(v);
    if (code === 0x6c && !fitsCode(0x6c, v)) throw new TypeError(`${field}: ${v} is outside int64`);
    this.typedNumber(code, v);
  }

  /** Write `v` as the memo says it was received, if it still fits; false if not. */
  private asRemembered(entry: number, v: FieldValue, field: string): boolean {
    const code = memoCode(entry);
    const raw = memoRaw(entry);
    if (typeof v === 'number') {
      if (!fitsCode(code, v)) return false;
      if (code === 0x66 && raw !== 0 && Number.isNaN(v)) {
        this.ensure(5);
        this.buf[this.pos] = 0x66;
        this.buf.writeUInt32BE(raw, this.pos + 1); // the NaN's own bits
        this.pos += 5;
        return true;
      }
      this.typedNumber(code, v);
      return true;
    }
    if (code === 0x74 && v === true && raw !== 0) {
      this.u8(0x74);
      this.u8(raw); // a true sent as an octet other than 1
      return true;
    }
    if (code === 0x53 && v instanceof Uint8Array) {
      this.u8(0x53); // a long string that was not valid UTF-8, kept as bytes
      this.longstr(v, field);
      return true;
    }
    return false;
  }

  private typedNumber(code: number, v: number): void {
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    b[p++] = code;
    switch (code) {
      case 0x62: b.writeInt8(v, p); p += 1; break; // b
      case 0x42: b.writeUInt8(v, p); p += 1; break; // B
      case 0x73: b.writeInt16BE(v, p); p += 2; break; // s
      case 0x75: b.writeUInt16BE(v, p); p += 2; break; // u
      case 0x49: b.writeInt32BE(v, p); p += 4; break; // I
      case 0x69: b.writeUInt32BE(v, p); p += 4; break; // i
      case 0x6c: b.writeBigInt64BE(BigInt(v), p); p += 8; break; // l
      case 0x66: b.writeFloatBE(v, p); p += 4; break; // f
      default: b.writeDoubleBE(v, p); p += 8; break; // d
    }
    this.pos = p;
  }

  private int64(v: bigint, field: string): void {
    if (v < INT64_MIN || v > INT64_MAX) throw new TypeError(`${field}: ${v} is outside int64`);
    this.ensure(9);
    this.buf[this.pos] = 0x6c;
    this.buf.writeBigInt64BE(v, this.pos + 1);
    this.pos += 9;
  }

  private typedValue(t: TypedValue, field: string, depth: number): void {
    const v = t.value;
    const code = TYPE_CODES[t.type];
    switch (t.type) {
      case 'int64':
        if (typeof v === 'bigint') return this.int64(v, field);
        return this.typedNumber(code, v as number);
      case 'bool':
      case 'string':
      case 'bytes':
      case 'timestamp':
      case 'decimal':
      case 'void':
        return this.fieldValue(v, field, depth);
      default:
        if (typeof v !== 'number' || !fitsCode(code, v)) throw new TypeError(`${field}: ${String(v)} does not fit ${t.type}`);
        return this.typedNumber(code, v);
    }
  }
}

const TYPE_CODES: Record<WireTypeName, number> = {
  bool: 0x74,
  int8: 0x62,
  uint8: 0x42,
  int16: 0x73,
  uint16: 0x75,
  int32: 0x49,
  uint32: 0x69,
  int64: 0x6c,
  float: 0x66,
  double: 0x64,
  decimal: 0x44,
  string: 0x53,
  bytes: 0x78,
  timestamp: 0x54,
  void: 0x56,
};

/**
 * The type code a plain JS number is encoded with: the smallest signed
 * integer type that holds it, else d (non-integers, NaN, infinities,
 * integers beyond 2^53).
 */
export function numberTypeCode(v: number): number {
  if (Number.isInteger(v)) {
    if (v >= -0x80 && v <= 0x7f) return 0x62;
    if (v >= -0x8000 && v <= 0x7fff) return 0x73;
    if (v >= -0x80000000 && v <= 0x7fffffff) return 0x49;
    return 0x6c; // may still be outside int64: the writer checks
  }
  return 0x64;
}

/** Whether `v` is a table: an object made by `{}` or `Object.create(null)`. */
function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Whether number `v` is representable with numeric type code `code`. */
function fitsCode(code: number, v: number): boolean {
  switch (code) {
    case 0x62: return Number.isInteger(v) && v >= -0x80 && v <= 0x7f;
    case 0x42: return Number.isInteger(v) && v >= 0 && v <= 0xff;
    case 0x73: return Number.isInteger(v) && v >= -0x8000 && v <= 0x7fff;
    case 0x75: return Number.isInteger(v) && v >= 0 && v <= 0xffff;
    case 0x49: return Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
    case 0x69: return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
    case 0x6c: return Number.isInteger(v) && v >= -0x8000_0000_0000_0000 && v < 0x8000_0000_0000_0000;
    case 0x66: return Math.fround(v) === v || Number.isNaN(v);
    case 0x64: return true;
    default: return false;
  }
}
