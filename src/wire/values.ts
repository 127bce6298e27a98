// JS-side types of field-table values (API.md "Field tables").

/**
 * An AMQP decimal: `value` × 10^-`scale`.
 *
 * @example
 * ```ts
 * const price = new Decimal(2, 1999); // 19.99
 * ```
 */
export class Decimal {
  constructor(
    /** Number of decimal places, 0-255. */
    readonly scale: number,
    /** The unscaled value, a signed 32-bit integer. */
    readonly value: number,
  ) {
    if (!Number.isInteger(scale) || scale < 0 || scale > 255) {
      throw new TypeError(`Decimal scale must be an integer 0-255, got ${String(scale)}`);
    }
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new TypeError(`Decimal value must be a signed 32-bit integer, got ${String(value)}`);
    }
  }
}

/** Names accepted by `typed()`, one per RabbitMQ field type. */
export type WireTypeName =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float'
  | 'double'
  | 'decimal'
  | 'string'
  | 'bytes'
  | 'timestamp'
  | 'void';

/** A value with its wire type forced; made by `typed()`. */
export class TypedValue {
  constructor(
    /** The wire type to encode `value` as. */
    readonly type: WireTypeName,
    /** The value itself. */
    readonly value: FieldValue,
  ) {}
}

/** A value in a field table (headers, `arguments`): see API.md "Field tables" for the wire type of each. */
export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | Decimal
  | TypedValue
  | null
  | undefined
  | FieldValue[]
  | FieldTable;

/** An AMQP field table (message headers, `arguments`): string keys to field values. */
export interface FieldTable {
  [key: string]: FieldValue;
}

const INT_RANGES: Partial<Record<WireTypeName, readonly [number, number]>> = {
  int8: [-0x80, 0x7f],
  uint8: [0, 0xff],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fail(type: WireTypeName, value: unknown): never {
  throw new TypeError(`typed('${type}'): ${String(value)} is not a valid ${type} value`);
}

/**
 * Force the wire type of a field-table value, e.g. `typed('int32', 5)`.
 * Throws `TypeError` when the value does not fit the type.
 */
export function typed(type: WireTypeName, value: FieldValue): TypedValue {
  const range = INT_RANGES[type];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) fail(type, value);
  } else {
    switch (type) {
      case 'bool':
        if (typeof value !== 'boolean') fail(type, value);
        break;
      case 'int64':
        if (typeof value === 'number') {
          if (!Number.isSafeInteger(value)) fail(type, value);
        } else if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) fail(type, value);
        break;
      case 'float':
      case 'double':
        if (typeof value !== 'number') fail(type, value);
        break;
      case 'decimal':
        if (!(value instanceof Decimal)) fail(type, value);
        break;
      case 'string':
        if (typeof value !== 'string') fail(type, value);
        break;
      case 'bytes':
        if (!(value instanceof Uint8Array)) fail(type, value);
        break;
      case 'timestamp':
        if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(type, value);
        break;
      case 'void':
        if (value !== null && value !== undefined) fail(type, value);
        break;
      default:
        throw new TypeError(`typed(): unknown wire type '${String(type)}'`);
    }
  }
  return new TypedValue(type, value);
}
