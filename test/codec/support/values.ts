// fast-check arbitraries for field-table values. Each generated value comes
// with every form the tests need:
//   ours    what a user passes to our encoder
//   back    what our decoder must give back (API.md "Field tables")
//   amqIn   the same value in amqplib's notation ({'!': type, value} for
//           timestamps, decimals and forced types), when amqplib can encode it
//   amqOut  what amqplib's decoder returns for those bytes
//   amq     whether amqplib agrees with us on this value (same bytes both ways)
import fc from 'fast-check';
import { Decimal, typed, type FieldTable, type FieldValue, type WireTypeName } from '../../../src/wire/index.js';

export interface Val {
  readonly ours: FieldValue;
  readonly back: FieldValue;
  readonly amqIn: unknown;
  readonly amqOut: unknown;
  readonly amq: boolean;
}

const same = (v: FieldValue, amq = true): Val => ({ ours: v, back: v, amqIn: v, amqOut: v, amq });

const utf8Len = (s: string): number => Buffer.byteLength(s);

/** Table keys: valid Unicode, 0-255 bytes (mostly short). */
export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('x-message-ttl', 'ключ', '键', '🔑', 'k'.repeat(255), 'é'.repeat(127)) },
).filter((k) => utf8Len(k) <= 255);

const safeInt = fc.oneof(
  fc.integer({ min: -200, max: 200 }),
  fc.integer({ min: -0x8000 - 5, max: 0x8000 + 5 }),
  fc.integer({ min: -0x80000000 - 5, max: 0x80000000 + 5 }),
  fc.maxSafeInteger(),
  fc.constantFrom(127, 128, -128, -129, 0x7fff, 0x8000, -0x8000, -0x8001, 0x7fffffff, 0x80000000, -0x80000000, -0x80000001, 0xffffffff,
    Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
);

/** Non-integer doubles below 2^50 (where amqplib also picks 'd'). */
const fraction = fc
  .double({ min: -(2 ** 49), max: 2 ** 49, noNaN: true, noDefaultInfinity: true })
  .filter((d) => !Number.isInteger(d));

const anyDouble = fc.oneof(
  fraction,
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, 1e-300, -2.5e-8),
);

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

/** Whole seconds from 1970 to 9999 (our Date range; amqplib's decoder gives seconds). */
const secondsArb = fc.integer({ min: 0, max: 253402300799 });

const scalarArb: fc.Arbitrary<Val> = fc.oneof(
  fc.boolean().map((b) => same(b)),
  safeInt.map((n) => same(n)),
  fraction.map((n) => same(n)),
  anyDouble.map((n) => same(n, false)),
  int64.map((b) => {
    const safe = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER);
    const n = Number(b);
    return { ours: b, back: safe ? n : b, amqIn: { '!': 'int64', value: n }, amqOut: n, amq: safe };
  }),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => same(s)),
  fc.uint8Array({ maxLength: 40 }).map((a) => ({
    ours: a,
    back: Buffer.from(a),
    amqIn: Buffer.from(a),
    amqOut: Buffer.from(a),
    amq: true,
  })),
  fc.tuple(secondsArb, fc.integer({ min: 0, max: 999 })).map(([s, ms]) => ({
    ours: new Date(s * 1000 + ms),
    back: new Date(s * 1000),
    amqIn: { '!': 'timestamp', value: s },
    amqOut: { '!': 'timestamp', value: s },
    amq: true,
  })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: -0x80000000, max: 0x7fffffff })).map(([scale, value]) => {
    const d = new Decimal(scale, value);
    const amq = { '!': 'decimal', value: { places: scale, digits: value } };
    // amqplib reads the digits as unsigned: it agrees only on non-negative values.
    return { ours: d, back: d, amqIn: amq, amqOut: amq, amq: value >= 0 };
  }),
  fc.constant(same(null)),
  fc.constant({ ours: undefined, back: null, amqIn: undefined, amqOut: undefined, amq: false }),
  typedArb(),
);

function forced(type: WireTypeName, v: number): Val {
  return { ours: typed(type, v), back: v, amqIn: { '!': type, value: v }, amqOut: v, amq: true };
}

/** typed() values of every numeric wire type at random and at the bounds. */
function typedArb(): fc.Arbitrary<Val> {
  const int = (type: WireTypeName, min: number, max: number): fc.Arbitrary<Val> =>
    fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max, 0)).map((v) => forced(type, v));
  return fc.oneof(
    int('int8', -0x80, 0x7f),
    int('uint8', 0, 0xff),
    int('int16', -0x8000, 0x7fff),
    int('uint16', 0, 0xffff),
    int('int32', -0x80000000, 0x7fffffff),
    int('uint32', 0, 0xffffffff),
    int('int64', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    fc.float({ noDefaultInfinity: true, noNaN: true }).filter((f) => !Object.is(f, -0)).map((v) => forced('float', v)),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((f) => !Object.is(f, -0)).map((v) => forced('double', v)),
    fc.boolean().map((b) => ({ ours: typed('bool', b), back: b, amqIn: b, amqOut: b, amq: true })),
    fc.string({ maxLength: 10 }).map((s) => ({ ours: typed('string', s), back: s, amqIn: s, amqOut: s, amq: true })),
    fc.uint8Array({ maxLength: 10 }).map((a) => ({
      ours: typed('bytes', Buffer.from(a)),
      back: Buffer.from(a),
      amqIn: Buffer.from(a),
      amqOut: Buffer.from(a),
      amq: true,
    })),
    secondsArb.map((s) => ({
      ours: typed('timestamp', new Date(s * 1000 + 999)),
      back: new Date(s * 1000),
      amqIn: { '!': 'timestamp', value: s },
      amqOut: { '!': 'timestamp', value: s },
      amq: true,
    })),
    fc.constant({ ours: typed('void', null), back: null, amqIn: null, amqOut: null, amq: true }),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0x7fffffff })).map(([scale, value]) => {
      const d = new Decimal(scale, value);
      const amq = { '!': 'decimal', value: { places: scale, digits: value } };
      return { ours: typed('decimal', d), back: d, amqIn: amq, amqOut: amq, amq: true };
    }),
  );
}

function tableOf(entries: readonly (readonly [string, Val])[]): Val {
  const pick = (f: (v: Val) => unknown): Record<string, unknown> => Object.fromEntries(entries.map(([k, v]) => [k, f(v)]));
  return {
    ours: pick((v) => v.ours) as FieldTable,
    back: pick((v) => v.back) as FieldTable,
    amqIn: pick((v) => v.amqIn),
    amqOut: pick((v) => v.amqOut),
    // amqplib assigns decoded keys with `fields[key] = v`: '__proto__' would set the prototype.
    amq: entries.every(([k, v]) => v.amq && k !== '__proto__'),
  };
}

function arrayOf(items: readonly Val[]): Val {
  return {
    ours: items.map((v) => v.ours),
    back: items.map((v) => v.back),
    amqIn: items.map((v) => v.amqIn),
    amqOut: items.map((v) => v.amqOut),
    amq: items.every((v) => v.amq),
  };
}

const entriesArb = (value: fc.Arbitrary<Val>, maxLength: number, protoKey: boolean): fc.Arbitrary<[string, Val][]> =>
  fc.uniqueArray(
    fc.tuple(
      // amqplib reads a '!' key as its {'!': type, value} notation: keep it out of shared tables.
      protoKey ? fc.oneof({ weight: 30, arbitrary: keyArb }, { weight: 1, arbitrary: fc.constant('__proto__') }) : keyArb.filter((k) => k !== '!' && k !== '__proto__'),
      value,
    ),
    { maxLength, selector: ([k]) => k },
  );

function trees(scalars: fc.Arbitrary<Val>, protoKey: boolean): { value: fc.Arbitrary<Val>; table: fc.Arbitrary<Val> } {
  return fc.letrec<{ value: Val; table: Val; array: Val }>((tie) => ({
    value: fc.oneof({ maxDepth: 4, depthSize: 'small' }, scalars, tie('table'), tie('array')),
    table: entriesArb(tie('value'), 6, protoKey).map(tableOf),
    array: fc.array(tie('value'), { maxLength: 6 }).map(arrayOf),
  }));
}

const all = trees(scalarArb, true);
const shared = trees(
  scalarArb.filter((v) => v.amq),
  false,
);

/** A field table with all its forms. */
export const tableValArb: fc.Arbitrary<Val> = all.table;
/** Any field value with all its forms. */
export const valueValArb: fc.Arbitrary<Val> = all.value;
/** A field table as a user would pass it to our encoder. */
export const tableArb: fc.Arbitrary<FieldTable> = tableValArb.map((v) => v.ours as FieldTable);
/** A table amqplib encodes and decodes the same way we do (no '__proto__' keys, no values amqplib cannot represent). */
export const sharedTableArb: fc.Arbitrary<Val> = shared.table;
