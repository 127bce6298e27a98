// Property-based round trips of every method in METHOD_INFO and of the basic
// content properties: encode → decode gives the values back (in API.md's
// decoded forms), and re-encoding the decoded value gives the same bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBasicProperties,
  decodeMethod,
  encodeBasicProperties,
  METHOD_INFO,
  type BasicPropertiesInit,
} from '../../generated/index.js';
import { Reader, Writer, type FieldTable } from '../../src/wire/index.js';
import { encodeArgs, fieldArb, METHODS, METHOD_IDS, methodByName, shortstrArb, type Args, type MethodShape } from './support/methods.js';
import { tableValArb } from './support/values.js';

const RUNS = 40;

/** Arguments to encode, and what decoding must give back (tables in decoded form). */
function argsWithExpected(shape: MethodShape): fc.Arbitrary<{ input: Args; expected: Args }> {
  const rec: Record<string, fc.Arbitrary<{ i: unknown; o: unknown }>> = {};
  for (const f of shape.fields) {
    rec[f.name] =
      f.kind === 'table'
        ? tableValArb.map((v) => ({ i: v.ours, o: v.back }))
        : fieldArb(f.kind).map((v) => ({ i: v, o: Buffer.isBuffer(v) ? Buffer.from(v) : v }));
  }
  return fc.record(rec).map((r) => ({
    input: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.i])),
    expected: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.o])),
  }));
}

function decodeAll(bytes: Buffer): { id: number; args: Args } {
  const m = decodeMethod(new Reader(bytes, 0, bytes.length));
  return { id: m.id, args: m.args as unknown as Args };
}

describe('method registry', () => {
  it('learns a shape and finds an encoder for every method in METHOD_INFO', () => {
    expect(METHODS.length).toBe(METHOD_IDS.length);
    expect(METHODS.length).toBeGreaterThanOrEqual(62); // 0-9-1 + RabbitMQ's extensions
    for (const m of METHODS) {
      const info = METHOD_INFO[m.id];
      expect(m.id).toBe(info.classId * 0x10000 + info.methodId);
      expect(typeof m.encode).toBe('function');
    }
  });

  it('names RabbitMQ extension methods as SPEC-NOTES.md lists them', () => {
    const byName = (n: string): number => methodByName(n).id;
    expect(byName('exchange.unbind-ok')).toBe((40 << 16) | 51);
    expect(byName('basic.nack')).toBe((60 << 16) | 120);
    expect(byName('confirm.select-ok')).toBe((85 << 16) | 11);
    expect(byName('connection.update-secret-ok')).toBe((10 << 16) | 71);
    expect(byName('connection.blocked')).toBe((10 << 16) | 60);
  });
});

describe('every method round-trips', () => {
  for (const shape of METHODS) {
    it(`${shape.name}`, () => {
      fc.assert(
        fc.property(argsWithExpected(shape), ({ input, expected }) => {
          const bytes = encodeArgs(shape.encode, input);
          expect(bytes.readUInt32BE(0)).toBe(shape.id);
          const m = decodeAll(bytes);
          expect(m.id).toBe(shape.id);
          expect(m.args).toStrictEqual(expected);
          // decode → encode is byte-exact (tables included)
          expect(encodeArgs(shape.encode, m.args).equals(bytes)).toBe(true);
        }),
        { numRuns: shape.fields.length === 0 ? 1 : RUNS },
      );
    });
  }
});

describe('boundaries', () => {
  const publish = methodByName('basic.publish');
  const deliver = methodByName('basic.deliver');
  const tune = methodByName('connection.tune');
  const qos = methodByName('basic.qos');

  const roundTrip = (shape: MethodShape, args: Args): Args => decodeAll(encodeArgs(shape.encode, args)).args;

  it.each([
    ['255 ASCII bytes', 'x'.repeat(255)],
    ['255 bytes of 2-byte characters + 1', 'é'.repeat(127) + 'x'],
    ['255 bytes of 3-byte characters', '€'.repeat(85)],
    ['255 bytes of 4-byte characters + 3', '😀'.repeat(63) + 'abc'],
    ['empty', ''],
    ['mixed scripts', 'κλειδί.ключ.键.🔑'],
  ])('shortstr: %s round-trips', (_, s) => {
    const args = { exchange: s, routingKey: s, mandatory: false, immediate: true };
    const bytes = encodeArgs(publish.encode, args);
    expect(bytes[6]).toBe(Buffer.byteLength(s)); // length octet after id + ticket
    expect(roundTrip(publish, args)).toStrictEqual(args);
  });

  it('shortstr of 256 bytes throws TypeError (ASCII, and 86 three-byte characters)', () => {
    for (const s of ['x'.repeat(256), 'é'.repeat(128), '€'.repeat(86), '😀'.repeat(64)]) {
      expect(() => encodeArgs(publish.encode, { exchange: '', routingKey: s, mandatory: false, immediate: false })).toThrow(TypeError);
    }
  });

  it('long: 0 and 2^32-1; longlong: 2^32 and 2^53-1', () => {
    for (const n of [0, 0xffffffff]) {
      const args = { prefetchSize: n, prefetchCount: 0xffff, global: true };
      expect(roundTrip(qos, args)).toStrictEqual(args);
    }
    for (const n of [0, 1, 0xffffffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const args = { consumerTag: 'c', deliveryTag: n, redelivered: false, exchange: 'e', routingKey: 'r' };
      expect(roundTrip(deliver, args)).toStrictEqual(args);
    }
    const tuneArgs = { channelMax: 0xffff, frameMax: 0xffffffff, heartbeat: 0xffff };
    expect(roundTrip(tune, tuneArgs)).toStrictEqual(tuneArgs);
  });

  it('a longlong above 2^53-1 on the wire is a FrameError, not a rounded number', () => {
    const bytes = encodeArgs(deliver.encode, { consumerTag: '', deliveryTag: 0, redelivered: false, exchange: '', routingKey: '' });
    bytes.writeUInt32BE(0x00200000, 5); // delivery tag high word: 2^53
    expect(() => decodeAll(bytes)).toThrow(expect.objectContaining({ name: 'FrameError' }));
  });

  it('bits pack into one octet, first field in the lowest bit', () => {
    const declare = methodByName('queue.declare');
    const names = ['passive', 'durable', 'exclusive', 'autoDelete', 'noWait'];
    names.forEach((name, bit) => {
      const args: Args = { queue: '', arguments: {} };
      for (const n of names) args[n] = n === name;
      const bytes = encodeArgs(declare.encode, args);
      expect(bytes[7]).toBe(1 << bit); // id(4) ticket(2) queue(1) → bits at 7
      expect(roundTrip(declare, args)).toStrictEqual(args);
    });
  });

  it('a set bit beyond the method\'s bit fields is a FrameError', () => {
    const ack = methodByName('basic.ack');
    const bytes = encodeArgs(ack.encode, { deliveryTag: 1, multiple: false });
    bytes[12] = 0x02;
    expect(() => decodeAll(bytes)).toThrow(expect.objectContaining({ name: 'FrameError' }));
  });

  it('tables: empty, nested, arrays and every value type survive a method round trip', () => {
    const bind = methodByName('queue.bind');
    const table: FieldTable = {
      empty: {},
      nested: { a: { b: { c: [1, [2, [3, {}]], []] } } },
      list: [true, 'x', 1.5, null, Buffer.from([1, 2]), new Date(86400000)],
      big: 2n ** 62n,
      neg: -(2n ** 63n),
    };
    const out = roundTrip(bind, { queue: 'q', exchange: 'e', routingKey: 'r', noWait: false, arguments: table });
    expect(out['arguments']).toStrictEqual({
      empty: {},
      nested: { a: { b: { c: [1, [2, [3, {}]], []] } } },
      list: [true, 'x', 1.5, null, Buffer.from([1, 2]), new Date(86400000)],
      big: 2n ** 62n,
      neg: -(2n ** 63n),
    });
  });
});

// ---- content properties ------------------------------------------------

interface PropsCase {
  input: BasicPropertiesInit;
  expected: Record<string, unknown>;
}

const octet = fc.integer({ min: 0, max: 255 });
const propsArb: fc.Arbitrary<PropsCase> = fc
  .record(
    {
      contentType: shortstrArb,
      contentEncoding: shortstrArb,
      headers: tableValArb,
      deliveryMode: octet,
      priority: octet,
      correlationId: shortstrArb,
      replyTo: shortstrArb,
      expiration: shortstrArb,
      messageId: shortstrArb,
      timestamp: fc.tuple(fc.integer({ min: 0, max: 253402300799 }), fc.integer({ min: 0, max: 999 })),
      messageType: shortstrArb,
      userId: shortstrArb,
      appId: shortstrArb,
      clusterId: shortstrArb,
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const input: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'headers') {
        const h = v as { ours: unknown; back: unknown };
        input[k] = h.ours;
        expected[k] = h.back;
      } else if (k === 'timestamp') {
        const [s, ms] = v as [number, number];
        input[k] = new Date(s * 1000 + ms);
        expected[k] = new Date(s * 1000); // whole seconds on the wire
      } else {
        input[k] = v;
        expected[k] = v;
      }
    }
    return { input: input as BasicPropertiesInit, expected };
  });

function setProps(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

describe('basic properties round-trip', () => {
  const FLAG_ORDER = [
    'contentType',
    'contentEncoding',
    'headers',
    'deliveryMode',
    'priority',
    'correlationId',
    'replyTo',
    'expiration',
    'messageId',
    'timestamp',
    'messageType',
    'userId',
    'appId',
    'clusterId',
  ];

  it('any subset of properties: encode → decode gives them back, flags say which', () => {
    fc.assert(
      fc.property(propsArb, ({ input, expected }) => {
        const w = new Writer(16);
        encodeBasicProperties(w, input);
        const bytes = Buffer.from(w.buf.subarray(0, w.pos));
        let flags = 0;
        FLAG_ORDER.forEach((k, i) => {
          if (k in expected) flags |= 0x8000 >> i;
        });
        expect(bytes.readUInt16BE(0)).toBe(flags);
        const r = new Reader(bytes, 0, bytes.length);
        const p = decodeBasicProperties(r);
        expect(r.pos).toBe(bytes.length);
        expect(setProps(p)).toStrictEqual(expected);
        for (const k of FLAG_ORDER) if (!(k in expected)) expect((p as Record<string, unknown>)[k]).toBeUndefined();
        // decode → encode is byte-exact
        const w2 = new Writer(16);
        encodeBasicProperties(w2, p);
        expect(Buffer.from(w2.buf.subarray(0, w2.pos)).equals(bytes)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
