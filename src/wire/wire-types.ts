// Decoded tables remember the wire type of values whose JS form would be
// re-encoded differently (a uint8 5 would come back as int8 5, a double 2.0
// as int8 2). The memo is a non-enumerable symbol property, so the table
// stays a plain object to the user while decode → encode is byte-exact.

/** Key (or array index) → the type code the value was decoded from. */
export type WireTypeMemo = Record<string | number, number>;

export const WIRE_TYPES: unique symbol = Symbol('amqp091.wireTypes');

export function rememberWireType(target: object, key: string | number, code: number): void {
  let memo = (target as { [WIRE_TYPES]?: WireTypeMemo })[WIRE_TYPES];
  if (memo === undefined) {
    memo = Object.create(null) as WireTypeMemo; // no prototype: a "__proto__" key must be an ordinary entry
    Object.defineProperty(target, WIRE_TYPES, { value: memo, enumerable: false });
  }
  memo[key] = code;
}
