// Encoding what the user passed: a bad value is a TypeError naming the
// field (STYLE.md: "basic.publish.routing-key: 256 bytes, max 255"), never a
// RangeError from inside Buffer and never silent truncation.
import { describe, expect, it } from 'vitest';
import { encodeBasicProperties, type BasicPropertiesInit } from '../../generated/index.js';
import { Decimal, typed, Writer, type FieldTable, type FieldValue } from '../../src/wire/index.js';
import { encodeArgs, METHODS, methodByName, type Args, type FieldKind, type MethodShape } from './support/methods.js';

const kebab = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Valid arguments for a method: every field at a harmless value. */
function validArgs(shape: MethodShape): Args {
  const zero: Record<FieldKind, unknown> = {
    bit: false,
    octet: 0,
    short: 0,
    long: 0,
    longlong: 0,
    shortstr: '',
    longstr: '',
    longstrBytes: Buffer.alloc(0),
    table: {},
    timestamp: new Date(0),
  };
  return Object.fromEntries(shape.fields.map((f) => [f.name, zero[f.kind]]));
}

function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectTypeError(f: () => void, mention?: string): void {
  const e = thrown(f);
  expect(e, 'expected a TypeError').toBeInstanceOf(TypeError);
  if (mention !== undefined) expect((e as Error).message).toContain(mention);
}

const BAD: Partial<Record<FieldKind, [string, unknown][]>> = {
  shortstr: [
    ['256 ASCII bytes', 'x'.repeat(256)],
    ['256 bytes in 128 two-byte characters', 'é'.repeat(128)],
    ['258 bytes in 86 three-byte characters', '€'.repeat(86)],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['bytes', Buffer.from('x')],
  ],
  octet: [
    ['256', 256],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['a string', '1'],
  ],
  short: [
    ['65536', 65536],
    ['-1', -1],
    ['0.5', 0.5],
    ['a string', '1'],
  ],
  long: [
    ['2^32', 2 ** 32],
    ['-1', -1],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '1'],
  ],
  longlong: [
    ['2^53', 2 ** 53],
    ['-1', -1],
    ['1.5', 1.5],
    ['a bigint', 1n],
    ['a string', '1'],
  ],
  longstr: [
    ['a number', 42],
    ['an object', {}],
  ],
  longstrBytes: [['a number', 42]],
  table: [
    ['an array', []],
    ['a string', 'x'],
    ['a number', 1],
  ],
};

describe('every method field refuses bad values with a TypeError naming it', () => {
  for (const shape of METHODS) {
    for (const field of shape.fields) {
      const bad = BAD[field.kind];
      if (!bad) continue;
      const fieldName = `${shape.name}.${kebab(field.name)}`;
      it(`${fieldName} (${field.kind})`, () => {
        for (const [what, value] of bad) {
          const e = thrown(() => encodeArgs(shape.encode, { ...validArgs(shape), [field.name]: value }));
          expect(e, `${fieldName} = ${what}`).toBeInstanceOf(TypeError);
          // Strings and integers name the field; a table names itself (or the bad entry inside it).
          expect((e as Error).message, `${fieldName} = ${what}`).toContain(fieldName);
        }
        // and the valid arguments do encode
        expect(() => encodeArgs(shape.encode, validArgs(shape))).not.toThrow();
      });
    }
  }

  it('the STYLE.md example: basic.publish.routing-key: 256 bytes, max 255', () => {
    const publish = methodByName('basic.publish');
    expectTypeError(
      () => encodeArgs(publish.encode, { exchange: '', routingKey: 'r'.repeat(256), mandatory: false, immediate: false }),
      'basic.publish.routing-key',
    );
  });
});

describe('field table values that cannot be encoded', () => {
  const declare = methodByName('queue.declare');
  const withArgs = (args: FieldTable): void => {
    encodeArgs(declare.encode, { ...validArgs(declare), arguments: args });
  };

  it.each<[string, unknown]>([
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a bigint above int64', 2n ** 63n],
    ['a bigint below int64', -(2n ** 63n) - 1n],
    ['an invalid Date', new Date(Number.NaN)],
    ['a Date before 1970', new Date(-1000)],
  ])('%s → TypeError naming the entry', (_, v) => {
    expectTypeError(() => withArgs({ bad: v as FieldValue }), 'queue.declare.arguments.bad');
  });

  it.each<[string, number]>([
    ['2^64', 2 ** 64],
    ['-(2^64)', -(2 ** 64)],
    ['1e300', 1e300],
  ])('an integer number outside int64 (%s) → TypeError (API.md)', (_, v) => {
    expectTypeError(() => withArgs({ n: v }));
  });

  it('nested: the message names the path', () => {
    expectTypeError(() => withArgs({ outer: { inner: [1, Symbol('s') as unknown as FieldValue] } }), 'queue.declare.arguments.outer.inner');
  });

  it('a key over 255 bytes → TypeError', () => {
    expectTypeError(() => withArgs({ ['k'.repeat(256)]: 1 }));
    expectTypeError(() => withArgs({ ['é'.repeat(128)]: 1 }));
    expect(() => withArgs({ ['k'.repeat(255)]: 1 })).not.toThrow();
  });

  it('Decimal outside scale 0-255 / int32 → TypeError', () => {
    expect(() => new Decimal(256, 0)).toThrow(TypeError);
    expect(() => new Decimal(-1, 0)).toThrow(TypeError);
    expect(() => new Decimal(0, 2 ** 31)).toThrow(TypeError);
    expect(() => new Decimal(0, 1.5)).toThrow(TypeError);
  });

  it('typed() values out of range → TypeError', () => {
    expect(() => withArgs({ n: typed('uint8', 256) })).toThrow(TypeError);
    expect(() => withArgs({ n: typed('int16', -32769) })).toThrow(TypeError);
    expect(() => withArgs({ n: typed('uint32', -1) })).toThrow(TypeError);
    expect(() => withArgs({ n: typed('int64', 2 ** 53) })).toThrow(TypeError);
  });

  it('a table field given something that is not a table → TypeError', () => {
    for (const v of [[1], 'x', 5, new Date(0), Buffer.alloc(1)]) {
      expectTypeError(() => encodeArgs(declare.encode, { ...validArgs(declare), arguments: v }), 'queue.declare.arguments');
    }
  });
});

describe('basic properties refuse bad values with a TypeError naming them', () => {
  const encode = (p: BasicPropertiesInit): void => encodeBasicProperties(new Writer(16), p);
  const as = <T>(v: unknown): T => v as T;

  it.each<[string, BasicPropertiesInit, string]>([
    ['content-type 256 bytes', { contentType: 'x'.repeat(256) }, 'basic.properties.content-type'],
    ['type 256 bytes', { messageType: '€'.repeat(86) }, 'basic.properties.type'],
    ['delivery-mode 256', { deliveryMode: 256 }, 'basic.properties.delivery-mode'],
    ['priority -1', { priority: -1 }, 'basic.properties.priority'],
    ['priority 1.5', { priority: 1.5 }, 'basic.properties.priority'],
    ['timestamp invalid', { timestamp: new Date(Number.NaN) }, 'basic.properties.timestamp'],
    ['timestamp not a Date', { timestamp: as<Date>(1700000000) }, 'basic.properties.timestamp'],
    ['message-id a number', { messageId: as<string>(5) }, 'basic.properties.message-id'],
    ['headers with a function', { headers: { f: as<FieldValue>(() => 0) } }, 'basic.properties.headers.f'],
    ['headers an array', { headers: as<FieldTable>([1]) }, 'basic.properties.headers'],
  ])('%s', (_, p, mention) => {
    expectTypeError(() => encode(p), mention);
  });
});
