// Messages as the tool prints them: `--json` gives one object per line,
// `{ exchange, routingKey, redelivered, properties, body | bodyBase64 }`,
// with the library's property names, timestamps as ISO 8601 and byte
// values as base64.

import { isUtf8 } from 'node:buffer';
import type { Properties } from '../index.js';

export interface PrintedMessage {
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  properties: Properties;
  body: Buffer;
}

/** A field-table value (or property) made JSON-safe. */
export function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = jsonValue(x);
    return out;
  }
  return v;
}

/** One line of `--json` output (without the newline). */
export function messageJson(m: PrintedMessage): string {
  const out: Record<string, unknown> = {
    exchange: m.exchange,
    routingKey: m.routingKey,
    redelivered: m.redelivered,
    properties: jsonValue(m.properties),
  };
  if (isUtf8(m.body)) out['body'] = m.body.toString('utf8');
  else out['bodyBase64'] = m.body.toString('base64');
  return JSON.stringify(out);
}

/** What to print for a message: its JSON line, or its body as is (with a newline on a terminal, or when `newline`). */
export function formatMessage(m: PrintedMessage, json: boolean, newline: boolean): string | Uint8Array {
  if (json) return `${messageJson(m)}\n`;
  return newline ? Buffer.concat([m.body, Buffer.from('\n')]) : m.body;
}
