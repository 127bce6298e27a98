// Hostile input: every decoder fed truncated input at every length and random
// bytes may only return a value or throw FrameError — never another
// exception, never a read past the frame end, never a hang or a huge
// allocation from an untrusted length.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBasicProperties, decodeMethod, encodeBasicProperties } from '../../generated/index.js';
import { FrameError, MAX_TABLE_DEPTH, Reader, Writer } from '../../src/wire/index.js';
import { argsArb, encodeArgs, METHODS, METHOD_IDS } from './support/methods.js';
import { tableArb } from './support/values.js';

type Outcome = { ok: true; value: unknown } | { ok: false; error: FrameError };

/** Run a decoder; anything but a value or a FrameError fails the test. */
function attempt(decode: () => unknown): Outcome {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (!(e instanceof FrameError)) {
      throw new Error(`decoder threw ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}, not FrameError`);
    }
    return { ok: false, error: e };
  }
}

/**
 * Decode `bytes` twice: alone in an exact-size buffer, and inside a larger
 * buffer with garbage after `end`. A decoder that respects the frame end
 * gives the same outcome both times.
 */
function decodeBounded<T>(bytes: Uint8Array, decode: (r: Reader) => T): Outcome {
  const exact = Buffer.from(bytes);
  const padded = Buffer.concat([Buffer.from([0xaa, 0xbb]), exact, Buffer.from('0000000f4100000008ffffffffffffffff', 'hex')]);
  const a = attempt(() => decode(new Reader(exact, 0, exact.length)));
  const b = attempt(() => decode(new Reader(padded, 2, 2 + exact.length)));
  expect(b.ok).toBe(a.ok);
  if (a.ok && b.ok) expect(b.value).toStrictEqual(a.value);
  return a;
}

const wholeMethod = (r: Reader): unknown => decodeMethod(r);
const wholeProps = (r: Reader): unknown => {
  const p = decodeBasicProperties(r);
  return { ...p, rest: r.end - r.pos };
};
const wholeTable = (r: Reader): unknown => {
  const t = r.table('fuzz');
  return { t, rest: r.end - r.pos };
};

/** Small tables keep every-length truncation cheap. */
const smallTables = tableArb.filter((t) => JSON.stringify(t, (_, v: unknown) => (typeof v === 'bigint' ? 0 : v)).length < 400);

describe('truncated method frames', () => {
  for (const shape of METHODS) {
    it(`${shape.name}: every proper prefix is a FrameError`, () => {
      const samples = fc.sample(argsArb(shape, smallTables), { numRuns: 4, seed: 42 });
      for (const args of samples) {
        const bytes = encodeArgs(shape.encode, args);
        expect(decodeBounded(bytes, wholeMethod).ok).toBe(true);
        for (let n = 0; n < bytes.length; n++) {
          const out = decodeBounded(bytes.subarray(0, n), wholeMethod);
          expect(out.ok, `${shape.name} truncated to ${n} of ${bytes.length} bytes decoded`).toBe(false);
        }
        // One byte too many is also an error (501, bytes left over).
        expect(decodeBounded(Buffer.concat([bytes, Buffer.from([0])]), wholeMethod).ok).toBe(false);
      }
    });
  }
});

describe('random bytes', () => {
  it('after a valid method id: a value or a FrameError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...METHOD_IDS), fc.uint8Array({ maxLength: 80 }), (id, tail) => {
        const bytes = Buffer.alloc(4 + tail.length);
        bytes.writeUInt32BE(id, 0);
        bytes.set(tail, 4);
        decodeBounded(bytes, wholeMethod);
      }),
      { numRuns: 3000 },
    );
  });

  it('anything at all: a value or a FrameError (unknown methods are 503)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const out = decodeBounded(bytes, wholeMethod);
        if (!out.ok && bytes.length >= 4) {
          const id = Buffer.from(bytes).readUInt32BE(0);
          if (!(METHOD_IDS as number[]).includes(id)) expect(out.error.code).toBe(503);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('valid encodings with bytes flipped: a value or a FrameError', () => {
    const arb = fc
      .constantFrom(...METHODS.filter((m) => m.fields.length > 0))
      .chain((shape) => fc.tuple(fc.constant(shape), argsArb(shape, smallTables)))
      .chain(([shape, args]) => {
        const bytes = encodeArgs(shape.encode, args);
        return fc.tuple(
          fc.constant(bytes),
          fc.array(fc.tuple(fc.integer({ min: 4, max: Math.max(4, bytes.length - 1) }), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
        );
      });
    fc.assert(
      fc.property(arb, ([bytes, flips]) => {
        const b = Buffer.from(bytes);
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        decodeBounded(b, wholeMethod);
      }),
      { numRuns: 1500 },
    );
  });

  it('basic properties: random bytes give a value or a FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        decodeBounded(bytes, wholeProps);
      }),
      { numRuns: 2000 },
    );
  });

  it('basic properties: random flag words over random bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 120 }), (flags, tail) => {
        const bytes = Buffer.alloc(2 + tail.length);
        bytes.writeUInt16BE(flags, 0);
        bytes.set(tail, 2);
        decodeBounded(bytes, wholeProps);
      }),
      { numRuns: 2000 },
    );
  });

  it('field tables: random bytes give a value or a FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (tail) => {
        // A plausible length prefix makes the decoder look inside.
        const bytes = Buffer.alloc(4 + tail.length);
        bytes.writeUInt32BE(tail.length, 0);
        bytes.set(tail, 4);
        decodeBounded(bytes, wholeTable);
        decodeBounded(tail, wholeTable);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('truncated content properties', () => {
  it('every proper prefix of an encoding with every property is a FrameError', () => {
    const w = new Writer(64);
    encodeBasicProperties(w, {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: { a: [1, 'two', { three: 3n }], b: new Date(0) },
      deliveryMode: 2,
      priority: 1,
      correlationId: 'c',
      replyTo: 'r',
      expiration: '1',
      messageId: 'm',
      timestamp: new Date(1000),
      messageType: 't',
      userId: 'u',
      appId: 'a',
      clusterId: 'c',
    });
    const bytes = Buffer.from(w.buf.subarray(0, w.pos));
    expect(decodeBounded(bytes, wholeProps).ok).toBe(true);
    for (let n = 0; n < bytes.length; n++) {
      expect(decodeBounded(bytes.subarray(0, n), wholeProps).ok, `truncated to ${n}`).toBe(false);
    }
  });
});

describe('hostile field tables', () => {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const tableOf = (body: Buffer): Buffer => Buffer.concat([u32(body.length), body]);
  const decode = (bytes: Buffer): unknown => new Reader(bytes, 0, bytes.length).table('t');
  const frameError = (bytes: Buffer, code?: number): FrameError => {
    let caught: unknown;
    try {
      decode(bytes);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FrameError);
    if (code !== undefined) expect((caught as FrameError).code).toBe(code);
    return caught as FrameError;
  };

  it('unknown type codes are a FrameError 501 (undecodable field, as RabbitMQ answers them)', () => {
    const known = new Set('tbBsuIilfdDSxTFAV'.split('').map((c) => c.charCodeAt(0)));
    for (let c = 0; c < 256; c++) {
      if (known.has(c)) continue;
      frameError(tableOf(Buffer.from([1, 0x6b, c, 0, 0, 0, 0, 0, 0, 0, 0])), 501);
    }
  });

  it(`tables nested deeper than ${MAX_TABLE_DEPTH} levels are a FrameError 502`, () => {
    // Level 1 is the outer table; each F entry adds a level.
    const nested = (levels: number): Buffer => {
      let t = tableOf(Buffer.alloc(0));
      for (let i = 1; i < levels; i++) t = tableOf(Buffer.concat([Buffer.from([1, 0x6b, 0x46]), t]));
      return t;
    };
    expect(() => decode(nested(MAX_TABLE_DEPTH))).not.toThrow();
    frameError(nested(MAX_TABLE_DEPTH + 1), 502);
    frameError(nested(10_000), 502); // no stack overflow either
    // Writing one level too deep is refused the same way (TypeError on our side).
    let deep: Record<string, unknown> = {};
    for (let i = 1; i < MAX_TABLE_DEPTH + 1; i++) deep = { k: deep };
    expect(() => new Writer().table(deep as never, 'x')).toThrow(TypeError);
  });

  it('arrays count toward the nesting limit', () => {
    let a = Buffer.concat([Buffer.from([0x41]), u32(0)]);
    for (let i = 0; i < 100; i++) a = Buffer.concat([Buffer.from([0x41]), u32(a.length), a]);
    frameError(tableOf(Buffer.concat([Buffer.from([1, 0x6b]), a])), 502);
  });

  it('lengths running past the end are a FrameError, without allocating them', () => {
    const cases: [string, Buffer][] = [
      ['table length', Buffer.concat([u32(0xffffffff), Buffer.from([1, 0x6b, 0x56])])],
      ['key length', tableOf(Buffer.from([200, 0x6b]))],
      ['longstr length', tableOf(Buffer.concat([Buffer.from([1, 0x6b, 0x53]), u32(0xfffffff0), Buffer.from('abc')]))],
      ['byte array length', tableOf(Buffer.concat([Buffer.from([1, 0x6b, 0x78]), u32(0x7fffffff)]))],
      ['nested table length', tableOf(Buffer.concat([Buffer.from([1, 0x6b, 0x46]), u32(0xffffffff)]))],
      ['array length', tableOf(Buffer.concat([Buffer.from([1, 0x6b, 0x41]), u32(100), Buffer.from([0x56])]))],
      ['a value cut short', tableOf(Buffer.from([1, 0x6b, 0x6c, 0, 0, 0]))],
      ['a decimal cut short', tableOf(Buffer.from([1, 0x6b, 0x44, 2, 0, 0]))],
    ];
    for (const [what, bytes] of cases) {
      const before = process.memoryUsage().arrayBuffers;
      const e = frameError(bytes);
      expect(e.message, what).toMatch(/\S/);
      expect(process.memoryUsage().arrayBuffers - before, what).toBeLessThan(64 * 1024 * 1024);
    }
  });

  it('a nested table or array may not run past its parent', () => {
    // Outer table says 8 bytes; the inner F claims 100.
    const inner = Buffer.concat([Buffer.from([1, 0x6b, 0x46]), u32(100)]);
    const bytes = Buffer.concat([u32(inner.length), inner, Buffer.alloc(100)]);
    frameError(bytes);
  });
});
