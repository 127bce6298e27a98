// Reader: reads AMQP wire primitives from one frame's payload. Every read
// checks the frame's end first, so truncated or hostile input raises a
// FrameError naming the field instead of reading garbage or allocating
// from an untrusted length. The framing layer reuses one Reader per
// connection by pointing it at each frame in turn.

import { FrameError } from '../errors.js';
import { Decimal, type FieldTable, type FieldValue } from './values.js';
import { isUtf8 } from 'node:buffer';
import { isIndexLikeKey, memoEntry, rememberKeyOrder, rememberWireType } from './wire-types.js';
import { MAX_TABLE_DEPTH, numberTypeCode } from './writer.js';

const TWO_32 = 0x1_0000_0000;
const SAFE_HI = 0x1fffff; // high word of Number.MAX_SAFE_INTEGER
const MAX_DATE_SECONDS = 8.64e12; // a JS Date holds ±8.64e15 ms

// Short strings repeat from frame to frame (consumer tags, routing keys,
// content types), and turning bytes into a JS string costs a call into C++
// each time. A small direct-mapped cache keyed by length and a few sampled
// bytes returns the string decoded earlier when the bytes match, so a
// steady stream of deliveries decodes those fields with a byte compare.
const INTERN_MAX = 48;
const INTERN_SLOTS = 1024;
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX);
const internLength = new Uint8Array(INTERN_SLOTS);
const internString: string[] = new Array<string>(INTERN_SLOTS).fill('');

function intern(buf: Buffer, start: number, n: number): string {
  const last = start + n - 1;
  const slot = (n * 31 + buf[start]! * 7 + buf[last]! * 131 + buf[start + (n >> 1)]! * 17) & (INTERN_SLOTS - 1);
  const base = slot * INTERN_MAX;
  if (internLength[slot] === n) {
    let i = 0;
    while (i < n && internBytes[base + i] === buf[start + i]) i++;
    if (i === n) return internString[slot]!;
  }
  const s = buf.toString('utf8', start, start + n);
  for (let i = 0; i < n; i++) internBytes[base + i] = buf[start + i]!;
  internLength[slot] = n;
  internString[slot] = s;
  return s;
}

export class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer = Buffer.alloc(0), pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Point the reader at `buf[pos..end)`. */
  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

  private need(n: number, field: string, what: string): void {
    if (this.pos + n > this.end) {
      throw new FrameError(`${field}: ${what} of ${n} bytes runs past the frame end at ${this.end - this.pos} bytes left`);
    }
  }

  u8(field: string): number {
    if (this.pos >= this.end) this.need(1, field, 'octet');
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    if (this.pos + 2 > this.end) this.need(2, field, 'short');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    if (this.pos + 4 > this.end) this.need(4, field, 'long');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit as a JS number; values above 2^53-1 are a FrameError. */
  u64(field: string): number {
    if (this.pos + 8 > this.end) this.need(8, field, 'longlong');
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    if (hi > SAFE_HI) throw new FrameError(`${field}: longlong above 2^53-1 cannot be represented`);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  timestamp(field: string): Date {
    const secs = this.u64(field);
    if (secs > MAX_DATE_SECONDS) throw new FrameError(`${field}: timestamp ${secs} is beyond the range of a Date`, 502);
    return new Date(secs * 1000);
  }

  shortstr(field: string): string {
    if (this.pos >= this.end) this.need(1, field, 'shortstr length');
    const n = this.buf[this.pos]!;
    const start = this.pos + 1;
    if (start + n > this.end) {
      throw new FrameError(`${field}: shortstr length ${n} runs past the frame end at ${this.end - start}`);
    }
    this.pos = start + n;
    if (n === 0) return '';
    return n <= INTERN_MAX ? intern(this.buf, start, n) : this.buf.toString('utf8', start, start + n);
  }

  private longstrBounds(field: string): number {
    const n = this.u32(field);
    if (this.pos + n > this.end) {
      throw new FrameError(`${field}: longstr length ${n} runs past the frame end at ${this.end - this.pos}`);
    }
    return n;
  }

  longstr(field: string): string {
    const n = this.longstrBounds(field);
    const start = this.pos;
    this.pos += n;
    return this.buf.toString('utf8', start, start + n);
  }

  /** A long string as bytes (a copy: it must outlive the socket chunk). */
  longstrBytes(field: string): Buffer {
    const n = this.longstrBounds(field);
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  table(field: string, depth = 0): FieldTable {
    if (depth >= MAX_TABLE_DEPTH) throw new FrameError(`${field}: tables nested deeper than ${MAX_TABLE_DEPTH}`, 502);
    const n = this.u32(field);
    const end = this.pos + n;
    if (end > this.end) throw new FrameError(`${field}: table length ${n} runs past the frame end at ${this.end - this.pos}`);
    const outerEnd = this.end;
    this.end = end;
    const t: FieldTable = {};
    let indexLikeKeys = false;
    while (this.pos < end) {
      const keyStart = this.pos + 1;
      const key = this.shortstr(`${field} (key)`);
      if (key.includes('\ufffd') && !isUtf8(this.buf.subarray(keyStart, this.pos))) {
        throw new FrameError(`${field}: a table key is not valid UTF-8`, 502);
      }
      if (Object.prototype.hasOwnProperty.call(t, key)) throw new FrameError(`${field}: duplicate table key '${key}'`, 502);
      if (!indexLikeKeys && isIndexLikeKey(key)) indexLikeKeys = true;
      const v = this.fieldValue(t, key, field, depth);
      // Plain assignment of '__proto__' would replace the prototype instead.
      if (key === '__proto__') Object.defineProperty(t, key, { value: v, enumerable: true, writable: true, configurable: true });
      else t[key] = v;
    }
    this.end = outerEnd;
    // JS lists integer-like keys first; keep the wire order for re-encoding.
    if (indexLikeKeys) rememberKeyOrder(t, this.wireKeyOrder(end - n, end, field));
    return t;
  }

  /** The keys of the table whose entries lie in `buf[start, end)`, in wire order (already validated). */
  private wireKeyOrder(start: number, end: number, field: string): string[] {
    const save = this.pos;
    const saveEnd = this.end;
    this.pos = start;
    this.end = end;
    const keys: string[] = [];
    const sink: FieldTable = {};
    while (this.pos < end) {
      const key = this.shortstr(field);
      keys.push(key);
      this.fieldValue(sink, key, field, 0);
    }
    this.pos = save;
    this.end = saveEnd;
    return keys;
  }

  private array(field: string, depth: number): FieldValue[] {
    if (depth >= MAX_TABLE_DEPTH) throw new FrameError(`${field}: arrays nested deeper than ${MAX_TABLE_DEPTH}`, 502);
    const n = this.u32(field);
    const end = this.pos + n;
    if (end > this.end) throw new FrameError(`${field}: array length ${n} runs past the frame end at ${this.end - this.pos}`);
    const outerEnd = this.end;
    this.end = end;
    const a: FieldValue[] = [];
    for (let i = 0; this.pos < end; i++) a.push(this.fieldValue(a, i, field, depth));
    this.end = outerEnd;
    return a;
  }

  /** One typed value; numbers whose JS form loses the wire type are remembered on `owner`. */
  private fieldValue(owner: object, key: string | number, field: string, depth: number): FieldValue {
    const code = this.u8(field);
    const b = this.buf;
    let v: number;
    switch (code) {
      case 0x74: { // t
        const octet = this.u8(field);
        if (octet > 1) rememberWireType(owner, key, memoEntry(0x74, octet));
        return octet !== 0;
      }
      case 0x62: // b
        this.need(1, field, 'int8');
        v = b.readInt8(this.pos++);
        break;
      case 0x42: // B
        v = this.u8(field);
        break;
      case 0x73: // s (RabbitMQ: int16)
        this.need(2, field, 'int16');
        v = b.readInt16BE(this.pos);
        this.pos += 2;
        break;
      case 0x75: // u
        v = this.u16(field);
        break;
      case 0x49: // I
        this.need(4, field, 'int32');
        v = b.readInt32BE(this.pos);
        this.pos += 4;
        break;
      case 0x69: // i
        v = this.u32(field);
        break;
      case 0x6c: { // l (signed)
        this.need(8, field, 'int64');
        const big = b.readBigInt64BE(this.pos);
        this.pos += 8;
        if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) return big;
        v = Number(big);
        break;
      }
      case 0x66: // f
        this.need(4, field, 'float');
        v = b.readFloatBE(this.pos);
        // Converting to a double may change a NaN's bits: keep them.
        if (Number.isNaN(v)) rememberWireType(owner, key, memoEntry(0x66, b.readUInt32BE(this.pos)));
        this.pos += 4;
        if (Number.isNaN(v)) return v;
        break;
      case 0x64: // d
        this.need(8, field, 'double');
        v = b.readDoubleBE(this.pos);
        this.pos += 8;
        break;
      case 0x44: { // D
        const scale = this.u8(field);
        this.need(4, field, 'decimal');
        const value = b.readInt32BE(this.pos);
        this.pos += 4;
        return new Decimal(scale, value);
      }
      case 0x53: { // S
        const start = this.pos + 4;
        const str = this.longstr(field);
        if (!str.includes('\ufffd') || isUtf8(b.subarray(start, this.pos))) return str;
        // Not valid UTF-8: hand over the bytes rather than a mangled string.
        rememberWireType(owner, key, memoEntry(0x53));
        return Buffer.from(b.subarray(start, this.pos));
      }
      case 0x78: // x
        return this.longstrBytes(field);
      case 0x54: // T
        return this.timestamp(field);
      case 0x46: // F
        return this.table(`${field}.${key}`, depth + 1);
      case 0x41: // A
        return this.array(`${field}.${key}`, depth + 1);
      case 0x56: // V
        return null;
      default:
        throw new FrameError(`${field}: unknown field-table type code 0x${code.toString(16).padStart(2, '0')}`, 501);
    }
    if (numberTypeCode(v) !== code) rememberWireType(owner, key, code);
    return v;
  }
}
