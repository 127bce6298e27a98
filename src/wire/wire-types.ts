// Decoded tables remember what their JS form would lose, so that decoding
// and re-encoding any table gives back the same bytes (API.md):
// - the wire type of values whose JS form re-encodes differently (a uint8 5
//   would come back as int8 5, a double 2.0 as int8 2);
// - raw payloads JS cannot hold: a float NaN's bits, a boolean octet other
//   than 0/1;
// - long strings that are not valid UTF-8 (kept as bytes, re-sent as S);
// - the wire order of keys, when JS would reorder them (integer-like keys
//   come first in a JS object).
// The memo hangs off the table or array under non-enumerable symbols, so
// the value stays a plain object or array to the user.

/**
 * Key (or array index) → a memo entry: the type code in the low 8 bits,
 * and a raw payload (float bits, boolean octet) above them; 0 when none.
 */
export type WireTypeMemo = Record<string | number, number>;

export const WIRE_TYPES: unique symbol = Symbol('amqp091.wireTypes');
export const WIRE_ORDER: unique symbol = Symbol('amqp091.wireOrder');

export function memoEntry(code: number, raw = 0): number {
  return code + raw * 256;
}

export const memoCode = (entry: number): number => entry % 256;
export const memoRaw = (entry: number): number => Math.floor(entry / 256);

export function rememberWireType(target: object, key: string | number, entry: number): void {
  let memo = (target as { [WIRE_TYPES]?: WireTypeMemo })[WIRE_TYPES];
  if (memo === undefined) {
    memo = Object.create(null) as WireTypeMemo; // no prototype: a "__proto__" key must be an ordinary entry
    Object.defineProperty(target, WIRE_TYPES, { value: memo, enumerable: false });
  }
  memo[key] = entry;
}

/** Record the keys of `table` in wire order (only needed when JS would reorder them). */
export function rememberKeyOrder(table: object, keys: string[]): void {
  Object.defineProperty(table, WIRE_ORDER, { value: keys, enumerable: false });
}

/**
 * The keys of `table` in the order to encode them: the remembered wire
 * order for keys still present, then any others in JS order.
 */
export function keysInWireOrder(table: object): string[] {
  const own = Object.keys(table);
  const order = (table as { [WIRE_ORDER]?: string[] })[WIRE_ORDER];
  if (order === undefined) return own;
  const present = new Set(own);
  const out = order.filter((k) => present.delete(k));
  for (const k of own) if (present.has(k)) out.push(k);
  return out;
}

/** A key JS orders before all others in an object: a canonical array index. */
export function isIndexLikeKey(key: string): boolean {
  const c = key.charCodeAt(0);
  if (c < 0x30 || c > 0x39) return false;
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4294967295;
}
