// An independent oracle: amqplib's codec (lib/defs.js, lib/codec.js). For
// every method both know, values encoded by ours decode with amqplib's to
// the same values, values encoded by amqplib's decode with ours, and the
// argument bytes are identical. Same for basic properties and field tables
// (within what amqplib represents: see support/values.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBasicProperties, decodeMethod, encodeBasicProperties, type BasicPropertiesInit } from '../../generated/index.js';
import { Reader, Writer, type FieldTable } from '../../src/wire/index.js';
import { amqplibInfo, codec, defs, type AmqplibFields } from './support/amqplib.js';
import { encodeArgs, fieldArb, METHODS, shortstrArb, type Args, type FieldKind, type MethodShape } from './support/methods.js';
import { sharedTableArb } from './support/values.js';

/** Fields amqplib names that are reserved (hidden) in 0-9-1, with the value that must be on the wire. */
const RESERVED: Record<string, unknown> = {
  ticket: 0,
  outOfBand: '',
  channelId: Buffer.alloc(0),
  capabilities: '',
  knownHosts: '',
  clusterId: '', // basic.get-empty's reserved-1
};

const amqName = (ours: string): string => (ours === 'noWait' ? 'nowait' : ours);

const AMQ_TYPE: Record<FieldKind, string> = {
  bit: 'bit',
  octet: 'octet',
  short: 'short',
  long: 'long',
  longlong: 'longlong',
  shortstr: 'shortstr',
  longstr: 'longstr',
  longstrBytes: 'longstr',
  table: 'table',
  timestamp: 'timestamp',
};

const FRAME_END = 0xce;

interface Case {
  /** our encoder's input */
  ours: Args;
  /** what our decoder must return */
  back: Args;
  /** amqplib's encoder input */
  amqIn: AmqplibFields;
  /** what amqplib's decoder returns (reserved fields aside) */
  amqOut: AmqplibFields;
}

function caseArb(shape: MethodShape): fc.Arbitrary<Case> {
  const rec: Record<string, fc.Arbitrary<[unknown, unknown, unknown, unknown]>> = {};
  for (const f of shape.fields) {
    if (f.kind === 'table') {
      rec[f.name] = sharedTableArb.map((v) => [v.ours, v.back, v.amqIn, v.amqOut]);
    } else if (f.kind === 'longstr') {
      // amqplib keeps long strings as Buffers
      rec[f.name] = fieldArb(f.kind).map((s) => [s, s, Buffer.from(s as string), Buffer.from(s as string)]);
    } else {
      rec[f.name] = fieldArb(f.kind).map((v) => [v, v, v, v]);
    }
  }
  return fc.record(rec).map((r) => {
    const c: Case = { ours: {}, back: {}, amqIn: {}, amqOut: {} };
    for (const [k, [o, b, ai, ao]] of Object.entries(r)) {
      c.ours[k] = o;
      c.back[k] = b;
      c.amqIn[amqName(k)] = ai;
      c.amqOut[amqName(k)] = ao;
    }
    return c;
  });
}

function withoutReserved(fields: AmqplibFields): { rest: AmqplibFields; reserved: AmqplibFields } {
  const rest: AmqplibFields = {};
  const reserved: AmqplibFields = {};
  for (const [k, v] of Object.entries(fields)) (k in RESERVED ? reserved : rest)[k] = v;
  return { rest, reserved };
}

/** The payload of an amqplib frame, after checking its framing. */
function payloadOf(frame: Buffer, type: number, channel: number): Buffer {
  expect(frame[0]).toBe(type);
  expect(frame.readUInt16BE(1)).toBe(channel);
  expect(frame.readUInt32BE(3)).toBe(frame.length - 8);
  expect(frame[frame.length - 1]).toBe(FRAME_END);
  return frame.subarray(7, frame.length - 1);
}

const RUNS = 30;

describe('amqplib knows the same methods with the same fields', () => {
  it('every method of ours is in amqplib with matching field names and types (reserved fields aside)', () => {
    for (const shape of METHODS) {
      const info = amqplibInfo(shape.id);
      expect(info, shape.name).toBeDefined();
      const theirs = info!.args.filter((a) => !(a.name in RESERVED)).map((a) => `${a.name}:${a.type}`);
      const ours = shape.fields.map((f) => `${amqName(f.name)}:${AMQ_TYPE[f.kind]}`);
      expect(ours, shape.name).toEqual(theirs);
    }
  });
});

describe('methods: ours ⇄ amqplib', () => {
  for (const shape of METHODS) {
    it(`${shape.name}`, () => {
      fc.assert(
        fc.property(caseArb(shape), (c) => {
          // ours → amqplib
          const ourBytes = encodeArgs(shape.encode, c.ours);
          const decoded = defs.decode(shape.id, ourBytes.subarray(4));
          const { rest, reserved } = withoutReserved(decoded);
          expect(rest).toEqual(c.amqOut);
          for (const [k, v] of Object.entries(reserved)) expect(v, `${shape.name} reserved ${k}`).toEqual(RESERVED[k]);

          // amqplib → ours
          const frame = defs.encodeMethod(shape.id, 7, c.amqIn);
          const payload = payloadOf(frame, 1, 7);
          const m = decodeMethod(new Reader(payload, 0, payload.length));
          expect(m.id).toBe(shape.id);
          expect(m.args).toStrictEqual(c.back);

          // and the bytes agree
          expect(payload.toString('hex')).toBe(ourBytes.toString('hex'));
        }),
        { numRuns: shape.fields.length === 0 ? 1 : RUNS },
      );
    });
  }
});

describe('field tables: ours ⇄ amqplib', () => {
  it('same values both ways and the same bytes', () => {
    fc.assert(
      fc.property(sharedTableArb, (v) => {
        const w = new Writer(16);
        w.table(v.ours as FieldTable, 't');
        const ours = Buffer.from(w.buf.subarray(0, w.pos));
        expect(codec.decodeFields(ours.subarray(4))).toEqual(v.amqOut);

        const scratch = Buffer.alloc(1 << 16);
        const n = codec.encodeTable(scratch, v.amqIn as AmqplibFields, 0);
        const theirs = scratch.subarray(0, n);
        expect(new Reader(theirs, 0, theirs.length).table('t')).toStrictEqual(v.back);
        expect(theirs.toString('hex')).toBe(ours.toString('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('basic properties: ours ⇄ amqplib', () => {
  interface PropsCase {
    ours: BasicPropertiesInit;
    back: Record<string, unknown>;
    amqIn: AmqplibFields;
    amqOut: AmqplibFields;
  }
  const octet = fc.integer({ min: 0, max: 255 });
  const arb: fc.Arbitrary<PropsCase> = fc
    .record(
      {
        contentType: shortstrArb,
        contentEncoding: shortstrArb,
        headers: sharedTableArb,
        deliveryMode: octet,
        priority: octet,
        correlationId: shortstrArb,
        replyTo: shortstrArb,
        expiration: shortstrArb,
        messageId: shortstrArb,
        timestamp: fc.integer({ min: 0, max: 253402300799 }),
        messageType: shortstrArb,
        userId: shortstrArb,
        appId: shortstrArb,
        clusterId: shortstrArb,
      },
      { requiredKeys: [] },
    )
    .map((r) => {
      const c: PropsCase = { ours: {}, back: {}, amqIn: {}, amqOut: {} };
      const ours = c.ours as Record<string, unknown>;
      for (const [k, v] of Object.entries(r)) {
        const ak = k === 'messageType' ? 'type' : k; // API.md: messageType is the spec's `type`
        if (k === 'headers') {
          const h = v as { ours: unknown; back: unknown; amqIn: unknown; amqOut: unknown };
          ours[k] = h.ours;
          c.back[k] = h.back;
          c.amqIn[ak] = h.amqIn;
          c.amqOut[ak] = h.amqOut;
        } else if (k === 'timestamp') {
          ours[k] = new Date((v as number) * 1000 + 123);
          c.back[k] = new Date((v as number) * 1000);
          c.amqIn[ak] = v;
          c.amqOut[ak] = v;
        } else {
          ours[k] = v;
          c.back[k] = v;
          c.amqIn[ak] = v;
          c.amqOut[ak] = v;
        }
      }
      return c;
    });

  const defined = (o: object): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

  it('same values both ways and the same bytes', () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (c, bodySize) => {
        // ours → amqplib (amqplib's decoder takes the bytes from the flag word on)
        const w = new Writer(16);
        encodeBasicProperties(w, c.ours);
        const ours = Buffer.from(w.buf.subarray(0, w.pos));
        expect(defined(defs.decode(60, ours))).toEqual(c.amqOut);

        // amqplib → ours: a whole content-header frame
        const frame = defs.encodeProperties(60, 3, bodySize, c.amqIn);
        const payload = payloadOf(frame, 2, 3);
        const r = new Reader(payload, 0, payload.length);
        expect(r.u16('class-id')).toBe(60);
        expect(r.u16('weight')).toBe(0);
        expect(r.u64('body-size')).toBe(bodySize);
        const p = decodeBasicProperties(r);
        expect(r.pos).toBe(payload.length);
        expect(defined(p)).toStrictEqual(c.back);

        expect(payload.subarray(12).toString('hex')).toBe(ours.toString('hex'));
      }),
      { numRuns: 300 },
    );
  });
});
