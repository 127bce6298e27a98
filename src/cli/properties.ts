// Message properties and headers from `publish` flags.

import type { PropertiesInit } from '../index.js';
import type { Flags } from './args.js';
import { UsageError, type OptionSpec } from './command.js';

export const PROPERTY_OPTIONS: Record<string, OptionSpec> = {
  'content-type': { type: 'string', arg: 'TYPE', help: 'content-type property, e.g. application/json' },
  'content-encoding': { type: 'string', arg: 'ENC', help: 'content-encoding property' },
  header: { type: 'string', multiple: true, arg: 'K=V', help: 'a header (repeatable); V typed: integer, true/false, else string' },
  persistent: { type: 'boolean', help: 'delivery-mode 2 (persistent)' },
  'delivery-mode': { type: 'string', arg: '1|2', help: 'delivery-mode property' },
  priority: { type: 'string', arg: 'N', help: 'priority property (0-255)' },
  'correlation-id': { type: 'string', arg: 'ID', help: 'correlation-id property' },
  'reply-to': { type: 'string', arg: 'QUEUE', help: 'reply-to property' },
  expiration: { type: 'string', arg: 'MS', help: 'expiration property (per-message TTL in ms)' },
  'message-id': { type: 'string', arg: 'ID', help: 'message-id property' },
  timestamp: { type: 'string', arg: 'TIME', help: "timestamp property: ISO 8601, seconds since the epoch, or 'now'" },
  type: { type: 'string', arg: 'TYPE', help: 'type property (messageType)' },
  'user-id': { type: 'string', arg: 'USER', help: 'user-id property (must be the connecting user)' },
  'app-id': { type: 'string', arg: 'APP', help: 'app-id property' },
};

const STRING_PROPS = {
  'content-type': 'contentType',
  'content-encoding': 'contentEncoding',
  'correlation-id': 'correlationId',
  'reply-to': 'replyTo',
  expiration: 'expiration',
  'message-id': 'messageId',
  type: 'messageType',
  'user-id': 'userId',
  'app-id': 'appId',
} as const;

function parseTimestamp(v: string): Date {
  const d = v === 'now' ? new Date() : /^\d+$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`option '--timestamp' needs ISO 8601, seconds or 'now', got '${v}'`, 'publish');
  return d;
}

/** The properties the flags ask for (undefined when none). */
export function propertiesFrom(flags: Flags): PropertiesInit | undefined {
  const p: PropertiesInit = {};
  for (const [flag, prop] of Object.entries(STRING_PROPS)) {
    const v = flags.str(flag);
    if (v !== undefined) p[prop] = v;
  }
  const headers = flags.pairs('header');
  if (headers !== undefined) p.headers = headers;
  if (flags.bool('persistent')) p.deliveryMode = 2;
  if (flags.has('delivery-mode')) p.deliveryMode = flags.int('delivery-mode', 1, 1, 2);
  if (flags.has('priority')) p.priority = flags.int('priority', 0, 0, 255);
  const ts = flags.str('timestamp');
  if (ts !== undefined) p.timestamp = parseTimestamp(ts);
  return Object.keys(p).length === 0 ? undefined : p;
}
