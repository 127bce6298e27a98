// Field tables (API.md "Field tables", RabbitMQ's type codes): every wire
// type both ways from hand-laid bytes, the JS → wire mapping, typed(), and
// the promise that decoding then re-encoding any table gives the same bytes
// (checked on random valid table BYTES built here, not by our encoder).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal, FrameError, Reader, typed, TypedValue, Writer, type FieldTable, type FieldValue, type WireTypeName } from '../../src/wire/index.js';

function hex(...parts: string[]): Buffer {
  return Buffer.from(parts.join('').replace(/[\s|]/g, ''), 'hex');
}

function encodeTable(t: FieldTable): Buffer {
  const w = new Writer(8);
  w.table(t, 'test.table');
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function decodeTable(bytes: Buffer): FieldTable {
  const r = new Reader(bytes, 0, bytes.length);
  const t = r.table('test.table');
  expect(r.pos).toBe(bytes.length);
  return t;
}

/** Wrap entry bytes in a table: long length prefix + entries. */
function table(...entries: Buffer[]): Buffer {
  const body = Buffer.concat(entries);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function shortstr(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  if (b.length > 255) throw new Error('test bug: key too long');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function entry(key: string | Buffer, value: Buffer): Buffer {
  return Buffer.concat([shortstr(key), value]);
}

describe('every RabbitMQ field type, from hand-laid bytes', () => {
  // One entry per type code, keys named after the code. The array is
  // [false, 5, null, []]: 74 00 | 62 05 | 56 | 41 00000000 = 10 bytes.
  const arrayEntry = entry('A', hex('41 0000000a 7400 6205 56 4100000000'));
  const fixed = table(
    entry('t', hex('74 01')), //                  t bool true
    entry('b', hex('62 ff')), //                  b int8 -1
    entry('B', hex('42 ff')), //                  B uint8 255
    entry('s', hex('73 8000')), //                s int16 -32768 (RabbitMQ; the spec says shortstr)
    entry('u', hex('75 ffff')), //                u uint16 65535
    entry('I', hex('49 80000000')), //            I int32 -2^31
    entry('i', hex('69 ffffffff')), //            i uint32 2^32-1
    entry('l', hex('6c ffffffff fffffffe')), //   l int64 -2 (signed in RabbitMQ)
    entry('L', hex('6c 7fffffff ffffffff')), //   l int64 2^63-1: beyond 2^53, a bigint
    entry('f', hex('66 3fc00000')), //            f float 1.5
    entry('d', hex('64 400921fb54442d18')), //    d double pi
    entry('D', hex('44 02 fffffc18')), //         D decimal: scale 2, value -1000
    entry('S', hex('53 00000005 68c3a96c6c')), // S long string "héll" (5 bytes of UTF-8)
    entry('x', hex('78 00000003 00ff10')), //     x byte array
    entry('T', hex('54 00000000 6553f100')), //   T timestamp 1700000000 s
    entry('F', Buffer.concat([hex('46'), table(entry('k', hex('56')))])), // F nested table { k: void }
    arrayEntry, //                                A array
    entry('V', hex('56')), //                     V void
  );

  const expected: FieldTable = {
    t: true,
    b: -1,
    B: 255,
    s: -32768,
    u: 65535,
    I: -(2 ** 31),
    i: 2 ** 32 - 1,
    l: -2,
    L: 2n ** 63n - 1n,
    f: 1.5,
    d: Math.PI,
    D: new Decimal(2, -1000),
    S: 'héll',
    x: Buffer.from([0x00, 0xff, 0x10]),
    T: new Date(1700000000 * 1000),
    F: { k: null },
    A: [false, 5, null, []],
    V: null,
  };

  it('decodes each code to its JS type', () => {
    const t = decodeTable(fixed);
    expect(t).toStrictEqual(expected);
    expect(t['D']).toBeInstanceOf(Decimal);
    expect(Buffer.isBuffer(t['x'])).toBe(true);
    expect(typeof t['L']).toBe('bigint');
  });

  it('re-encodes the decoded table to the same bytes', () => {
    expect(encodeTable(decodeTable(fixed)).toString('hex')).toBe(fixed.toString('hex'));
  });

  it('encodes the same bytes from typed() values', () => {
    const input: FieldTable = {
      t: true,
      b: typed('int8', -1),
      B: typed('uint8', 255),
      s: typed('int16', -32768),
      u: typed('uint16', 65535),
      I: typed('int32', -(2 ** 31)),
      i: typed('uint32', 2 ** 32 - 1),
      l: typed('int64', -2),
      L: typed('int64', 2n ** 63n - 1n),
      f: typed('float', 1.5),
      d: typed('double', Math.PI),
      D: typed('decimal', new Decimal(2, -1000)),
      S: typed('string', 'héll'),
      x: typed('bytes', new Uint8Array([0x00, 0xff, 0x10])),
      T: typed('timestamp', new Date(1700000000 * 1000 + 999)),
      F: { k: typed('void', null) },
      A: [typed('bool', false), typed('int8', 5), null, []],
      V: undefined,
    };
    expect(encodeTable(input).toString('hex')).toBe(fixed.toString('hex'));
  });
});

describe('JS value → wire type (API.md table)', () => {
  const code = (v: FieldValue): string => {
    const b = encodeTable({ k: v });
    return String.fromCharCode(b[6]!); // len(4) keylen(1) 'k'(1) → code
  };
  const payload = (v: FieldValue): string => encodeTable({ k: v }).subarray(7).toString('hex');

  const CASES: [string, FieldValue, string][] = [
    ['true', true, 't'],
    ['a string', 'x', 'S'],
    ['0', 0, 'b'],
    ['127', 127, 'b'],
    ['-128', -128, 'b'],
    ['128', 128, 's'],
    ['-129', -129, 's'],
    ['32767', 32767, 's'],
    ['32768', 32768, 'I'],
    ['-32769', -32769, 'I'],
    ['2^31-1', 2 ** 31 - 1, 'I'],
    ['2^31', 2 ** 31, 'l'],
    ['-(2^31)-1', -(2 ** 31) - 1, 'l'],
    ['2^53-1', Number.MAX_SAFE_INTEGER, 'l'],
    ['1.5', 1.5, 'd'],
    ['NaN', Number.NaN, 'd'],
    ['Infinity', Number.POSITIVE_INFINITY, 'd'],
    ['a bigint', 5n, 'l'],
    ['a Date', new Date(1000), 'T'],
    ['a Buffer', Buffer.from('a'), 'x'],
    ['a Uint8Array', new Uint8Array([1]), 'x'],
    ['an array', [], 'A'],
    ['a plain object', {}, 'F'],
    ['null', null, 'V'],
    ['undefined', undefined, 'V'],
    ['a Decimal', new Decimal(0, 0), 'D'],
  ];
  it.each(CASES.map(([label, v, c]) => [`${label} → ${c}`, v, c] as const))('%s', (_, v, c) => {
    expect(code(v)).toBe(c);
  });

  it('an integer number beyond 2^53 that int64 holds is l (API: integer → smallest of b/s/I/l)', () => {
    expect(code(2 ** 60)).toBe('l');
    expect(payload(2 ** 60)).toBe('1000000000000000');
  });

  it('Date → whole seconds, milliseconds truncated', () => {
    expect(payload(new Date(1999))).toBe('0000000000000001');
  });

  it('a plain object is a table whatever its keys', () => {
    const t = decodeTable(encodeTable({ k: { value: 1, type: 'int8', scale: 2 } }));
    expect(t).toStrictEqual({ k: { value: 1, type: 'int8', scale: 2 } });
  });
});

describe('typed()', () => {
  const NAMES: [WireTypeName, string, FieldValue][] = [
    ['bool', 't', true],
    ['int8', 'b', 1],
    ['uint8', 'B', 1],
    ['int16', 's', 1],
    ['uint16', 'u', 1],
    ['int32', 'I', 1],
    ['uint32', 'i', 1],
    ['int64', 'l', 1],
    ['float', 'f', 1],
    ['double', 'd', 1],
    ['decimal', 'D', new Decimal(1, 1)],
    ['string', 'S', 's'],
    ['bytes', 'x', Buffer.from('b')],
    ['timestamp', 'T', new Date(0)],
    ['void', 'V', null],
  ];

  it.each(NAMES)('typed(%s) forces %s', (name, c, v) => {
    const tv = typed(name, v);
    expect(tv).toBeInstanceOf(TypedValue);
    expect(String.fromCharCode(encodeTable({ k: tv })[6]!)).toBe(c);
  });

  const RANGES: [WireTypeName, number, number][] = [
    ['int8', -0x80, 0x7f],
    ['uint8', 0, 0xff],
    ['int16', -0x8000, 0x7fff],
    ['uint16', 0, 0xffff],
    ['int32', -0x80000000, 0x7fffffff],
    ['uint32', 0, 0xffffffff],
    ['int64', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ];

  it.each(RANGES)('typed(%s): bounds %d..%d round-trip, one past throws TypeError', (name, min, max) => {
    for (const v of [min, max]) expect(decodeTable(encodeTable({ k: typed(name, v) }))).toStrictEqual({ k: v });
    // Out of range must be refused (at typed() or at encode), never wrapped.
    for (const bad of [min - 1, max + 1, 0.5]) {
      expect(() => encodeTable({ k: typed(name, bad) })).toThrow(TypeError);
    }
  });

  it('typed(int64) holds the whole signed 64-bit range as bigint', () => {
    for (const v of [-(2n ** 63n), 2n ** 63n - 1n]) expect(decodeTable(encodeTable({ k: typed('int64', v) }))).toStrictEqual({ k: v });
    expect(() => encodeTable({ k: typed('int64', 2n ** 63n) })).toThrow(TypeError);
  });

  it('typed(float) of a value a float cannot hold exactly throws TypeError rather than rounding', () => {
    expect(() => encodeTable({ k: typed('float', 1.1) })).toThrow(TypeError);
    expect(decodeTable(encodeTable({ k: typed('float', 0.15625) }))).toStrictEqual({ k: 0.15625 });
  });

  it('typed() with a value of the wrong kind throws TypeError', () => {
    expect(() => typed('bool', 1)).toThrow(TypeError);
    expect(() => typed('string', 1)).toThrow(TypeError);
    expect(() => typed('bytes', 'x')).toThrow(TypeError);
    expect(() => typed('timestamp', new Date(Number.NaN))).toThrow(TypeError);
    expect(() => typed('decimal', 1)).toThrow(TypeError);
    expect(() => typed('void', 0)).toThrow(TypeError);
    expect(() => typed('nope' as WireTypeName, 1)).toThrow(TypeError);
  });

  it('a decoded uint8 / double-that-looks-integral keeps its wire type when re-encoded', () => {
    const bytes = table(entry('u8', hex('42 05')), entry('d', hex('64 4000000000000000')), entry('f', hex('66 00000000')));
    const t = decodeTable(bytes);
    expect(t).toStrictEqual({ u8: 5, d: 2, f: 0 });
    expect(encodeTable(t).equals(bytes)).toBe(true);
    // in arrays too
    const arr = table(entry('a', hex('41 00000005 4205 7500ff')));
    expect(encodeTable(decodeTable(arr)).equals(arr)).toBe(true);
  });

  it('a decoded value whose key is "__proto__" keeps its wire type too', () => {
    const bytes = table(entry('__proto__', hex('42 05')));
    const t = decodeTable(bytes);
    expect(Object.keys(t)).toEqual(['__proto__']);
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('after the user changes a decoded number, the new value is encoded (remembered type only while it fits)', () => {
    const t = decodeTable(table(entry('n', hex('42 05')))); // uint8 5
    t['n'] = 300;
    expect(decodeTable(encodeTable(t))).toStrictEqual({ n: 300 });
    t['n'] = -1;
    expect(decodeTable(encodeTable(t))).toStrictEqual({ n: -1 });
  });
});

// ---- decode → re-encode of random valid table bytes --------------------

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const isArrayIndex = (k: string): boolean => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 2 ** 32 - 1;

/** Keys: valid UTF-8, ≤255 bytes; integer-like keys are tested apart (see below). */
const wireKeyArb = fc
  .string({ unit: 'binary', maxLength: 10 })
  .filter((k) => Buffer.byteLength(k) <= 255 && !isArrayIndex(k));

const bytesOf = (n: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

const scalarBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(hex('7400'), hex('7401'), hex('56')),
  bytesOf(1).map((b) => Buffer.concat([hex('62'), b])),
  bytesOf(1).map((b) => Buffer.concat([hex('42'), b])),
  bytesOf(2).map((b) => Buffer.concat([hex('73'), b])),
  bytesOf(2).map((b) => Buffer.concat([hex('75'), b])),
  bytesOf(4).map((b) => Buffer.concat([hex('49'), b])),
  bytesOf(4).map((b) => Buffer.concat([hex('69'), b])),
  bytesOf(8).map((b) => Buffer.concat([hex('6c'), b])),
  bytesOf(4)
    .filter((b) => !Number.isNaN(b.readFloatBE(0)))
    .map((b) => Buffer.concat([hex('66'), b])),
  bytesOf(8)
    .filter((b) => !Number.isNaN(b.readDoubleBE(0)))
    .map((b) => Buffer.concat([hex('64'), b])),
  bytesOf(5).map((b) => Buffer.concat([hex('44'), b])),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => {
    const b = Buffer.from(s);
    return Buffer.concat([hex('53'), u32(b.length), b]);
  }),
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.concat([hex('78'), u32(a.length), Buffer.from(a)])),
  // Timestamps within JS Date's range (±8.64e15 ms).
  fc.integer({ min: 0, max: 8_640_000_000_000 }).map((s) => {
    const b = Buffer.alloc(9);
    b[0] = 0x54;
    b.writeBigUInt64BE(BigInt(s), 1);
    return b;
  }),
);

const wire = fc.letrec<{ value: Buffer; table: Buffer; array: Buffer }>((tie) => ({
  value: fc.oneof({ maxDepth: 4, depthSize: 'small' }, scalarBytes, tie('table').map((t) => Buffer.concat([hex('46'), t])), tie('array')),
  table: fc
    .uniqueArray(fc.tuple(wireKeyArb, tie('value')), { maxLength: 6, selector: ([k]) => k })
    .map((entries) => table(...entries.map(([k, v]) => entry(k, v)))),
  array: fc.array(tie('value'), { maxLength: 6 }).map((vals) => {
    const body = Buffer.concat(vals);
    return Buffer.concat([hex('41'), u32(body.length), body]);
  }),
}));

describe('decode → re-encode of any table gives identical bytes', () => {
  it('random valid table bytes (every type code, nested tables and arrays)', () => {
    fc.assert(
      fc.property(wire.table, (bytes) => {
        const t = decodeTable(bytes);
        expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: 400 },
    );
  });

  it('integer-like keys keep their wire order', () => {
    // JS objects list integer-like keys first, in numeric order; the wire order must survive anyway.
    const bytes = table(entry('b', hex('7401')), entry('1', hex('7400')), entry('0', hex('56')));
    expect(encodeTable(decodeTable(bytes)).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('a float NaN payload survives (not canonicalised)', () => {
    for (const nan of ['7fc00000', '7fa00001', 'ffc00001']) {
      const bytes = table(entry('f', hex('66', nan)));
      expect(encodeTable(decodeTable(bytes)).toString('hex')).toBe(bytes.toString('hex'));
    }
  });

  it('a double NaN payload survives (not canonicalised)', () => {
    for (const nan of ['7ff8000000000000', '7ff8000000000001', 'fff0000000000001']) {
      const bytes = table(entry('d', hex('64', nan)));
      expect(encodeTable(decodeTable(bytes)).toString('hex')).toBe(bytes.toString('hex'));
    }
  });

  /** Bytes a peer may send that a JS object cannot represent: refuse them (FrameError) or keep them exactly. */
  function refusedOrExact(bytes: Buffer): void {
    let t: FieldTable;
    try {
      t = decodeTable(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError);
      return;
    }
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
  }

  it('a duplicate key is refused or kept', () => {
    refusedOrExact(table(entry('a', hex('7401')), entry('a', hex('7400'))));
  });

  it('a long string that is not valid UTF-8 is refused or kept', () => {
    refusedOrExact(table(entry('s', hex('53 00000002 c328'))));
  });

  it('a key that is not valid UTF-8 is refused or kept', () => {
    refusedOrExact(table(entry(hex('ff'), hex('56'))));
  });

  it('a timestamp beyond JS Date range is refused or kept', () => {
    refusedOrExact(table(entry('T', hex('54 001fffffffffffff'))));
  });

  it('a boolean octet other than 0/1 is refused or kept', () => {
    refusedOrExact(table(entry('t', hex('74 02'))));
  });
});
