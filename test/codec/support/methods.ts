// Learns every method's fields from the generated code itself, so the
// property tests cover whatever METHOD_INFO lists (a method added to an
// overlay is picked up without touching the tests):
//   1. decode the smallest all-zero argument bytes that decodeMethod accepts:
//      that gives the field names and JS types (string, number, boolean,
//      Buffer, Date, object);
//   2. probe each number / string field's width through the encoder
//      (256 refused → octet, 65536 → short, 2^32 → long, else longlong;
//      a 256-byte string refused → shortstr, else longstr).
// The widths learnt this way are then checked against amqplib's own method
// table (oracle.test.ts), so a generator that typed a field wrongly cannot
// hide behind its own encoder.
import fc from 'fast-check';
import * as generated from '../../../generated/index.js';
import { decodeMethod, METHOD_INFO, type MethodId } from '../../../generated/index.js';
import { Reader, Writer, type FieldTable } from '../../../src/wire/index.js';
import { tableArb } from './values.js';

export type FieldKind =
  | 'bit'
  | 'octet'
  | 'short'
  | 'long'
  | 'longlong'
  | 'shortstr'
  | 'longstr'
  | 'longstrBytes'
  | 'table'
  | 'timestamp';

export interface FieldShape {
  readonly name: string;
  readonly kind: FieldKind;
}

export type Args = Record<string, unknown>;
export type Encoder = (w: Writer, m: Args) => void;

export interface MethodShape {
  readonly id: MethodId;
  readonly name: string;
  readonly encode: Encoder;
  readonly fields: readonly FieldShape[];
  /** Length of the smallest valid encoding's arguments (after the method id). */
  readonly minArgsLength: number;
}

/** 'basic.get-ok' → 'encodeBasicGetOk' */
export function encoderName(specName: string): string {
  return (
    'encode' +
    specName
      .split(/[.-]/)
      .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
      .join('')
  );
}

export const METHOD_IDS = Object.keys(METHOD_INFO).map(Number) as MethodId[];

function lookupEncoder(name: string): Encoder {
  const fn = (generated as unknown as Record<string, unknown>)[encoderName(name)];
  if (typeof fn !== 'function') throw new Error(`generated/ has no ${encoderName(name)} for ${name}`);
  return fn as Encoder;
}

export function encodeArgs(encode: Encoder, args: Args, size = 64): Buffer {
  const w = new Writer(size);
  encode(w, args);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function accepts(encode: Encoder, args: Args): boolean {
  try {
    encode(new Writer(16), args);
    return true;
  } catch (e) {
    if (e instanceof TypeError) return false;
    throw e;
  }
}

function zeroArgs(id: MethodId, name: string): { args: Args; length: number } {
  for (let n = 0; n <= 64; n++) {
    const buf = Buffer.alloc(4 + n);
    buf.writeUInt32BE(id, 0);
    try {
      const m = decodeMethod(new Reader(buf));
      return { args: m.args as unknown as Args, length: n };
    } catch {
      // too short or too long: try the next length
    }
  }
  throw new Error(`${name}: no all-zero argument bytes of up to 64 bytes decode`);
}

function probeKind(encode: Encoder, zero: Args, key: string): FieldKind {
  const v = zero[key];
  const withValue = (x: unknown): Args => ({ ...zero, [key]: x });
  if (typeof v === 'boolean') return 'bit';
  if (Buffer.isBuffer(v)) return 'longstrBytes';
  if (v instanceof Date) return 'timestamp';
  if (typeof v === 'string') return accepts(encode, withValue('a'.repeat(256))) ? 'longstr' : 'shortstr';
  if (typeof v === 'number') {
    if (!accepts(encode, withValue(0x100))) return 'octet';
    if (!accepts(encode, withValue(0x10000))) return 'short';
    if (!accepts(encode, withValue(0x100000000))) return 'long';
    return 'longlong';
  }
  if (typeof v === 'object' && v !== null) return 'table';
  throw new Error(`cannot classify field ${key} = ${String(v)}`);
}

function learn(id: MethodId): MethodShape {
  const name = METHOD_INFO[id].name;
  const encode = lookupEncoder(name);
  const { args, length } = zeroArgs(id, name);
  const fields = Object.keys(args).map((key) => ({ name: key, kind: probeKind(encode, args, key) }));
  return { id, name, encode, fields, minArgsLength: length };
}

export const METHODS: readonly MethodShape[] = METHOD_IDS.map(learn);

// ---- arbitraries -------------------------------------------------------

/** Longest prefix of `s` (whole code points) that fits in `max` UTF-8 bytes. */
export function fitUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** Valid Unicode (no lone surrogates), mostly short, sometimes exactly at the 255-byte limit. */
export const shortstrArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => fitUtf8(s, 255)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 100, maxLength: 255 }).map((s) => fitUtf8(s, 255)) },
  // Exactly 255 bytes, ASCII or with multi-byte characters.
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(255), 'é'.repeat(127) + 'x', '€'.repeat(85), '😀'.repeat(63) + 'abc') },
);

export const longstrArb: fc.Arbitrary<string> = fc.string({ unit: 'binary', maxLength: 300 });

const u = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, max) });

export function fieldArb(kind: FieldKind, tables: fc.Arbitrary<FieldTable> = tableArb): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'bit':
      return fc.boolean();
    case 'octet':
      return u(0xff);
    case 'short':
      return u(0xffff);
    case 'long':
      return u(0xffffffff);
    case 'longlong':
      return fc.oneof(u(Number.MAX_SAFE_INTEGER), fc.constantFrom(0xffffffff, 0x100000000));
    case 'shortstr':
      return shortstrArb;
    case 'longstr':
      return longstrArb;
    case 'longstrBytes':
      return fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    case 'table':
      return tables;
    case 'timestamp':
      return fc.integer({ min: 0, max: 253402300799 }).map((s) => new Date(s * 1000));
  }
}

export function argsArb(shape: MethodShape, tables?: fc.Arbitrary<FieldTable>): fc.Arbitrary<Args> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of shape.fields) rec[f.name] = fieldArb(f.kind, tables);
  return fc.record(rec) as fc.Arbitrary<Args>;
}

/** Shapes of the methods with at least one field of `kind`. */
export function methodsWith(kind: FieldKind): MethodShape[] {
  return METHODS.filter((m) => m.fields.some((f) => f.kind === kind));
}

export function methodByName(name: string): MethodShape {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new Error(`no method ${name}`);
  return m;
}
