// Credentials never reach what inspection, JSON.stringify or error messages
// show: the protocol, its transport and channels, and every error a
// connection produces are inspected at depth 10 and searched for the
// password (as text, and as the bytes a SASL response would carry).
// Serial: it adds a broker user for the test and deletes it in finally.

import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.js';
import { AmqpClosedConnection, ChannelClosed, connect, fromUrl, parseUrl, type LoginMethod } from '../../src/index.js';
import { AMQP_URL, BROKER_HOST as host, BROKER_PORT as port, LOCAL_BROKER as local, rabbitmqctl } from '../support/broker.js';

function leaks(what: unknown, secret: string): string[] {
  const found: string[] = [];
  const hex = Buffer.from(secret).toString('hex');
  const shown = inspect(what, { depth: 10, showHidden: true, getters: true });
  if (shown.includes(secret)) found.push('inspect');
  // Buffers show as hex bytes: a SASL response would show the secret that way.
  if (shown.replace(/[^0-9a-f]/g, '').includes(hex)) found.push('inspect (bytes)');
  let json = '';
  try {
    json = JSON.stringify(what) ?? '';
  } catch {
    // circular structures cannot be serialised at all: nothing leaks that way
  }
  if (json.includes(secret)) found.push('JSON');
  if (what instanceof Error && `${what.message}\n${String(what.stack)}`.includes(secret)) found.push('message');
  return found;
}

describe.skipIf(!local)('secrets stay out of inspection, JSON and errors', () => {
  it('password (PLAIN and AMQPLAIN), protocol, transport, channels and every error class', async () => {
    const user = `amqp091-secret-${randomBytes(4).toString('hex')}`;
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    await rabbitmqctl('-q', 'add_user', user, secret);
    try {
      await rabbitmqctl('-q', 'set_permissions', '-p', '/', user, '.*', '.*', '.*');
      for (const loginMethod of ['PLAIN', 'AMQPLAIN'] as LoginMethod[]) {
        const [transport, protocol] = await connect({ host, port, login: user, password: secret, loginMethod });
        const channel = await protocol.channel();
        const other = await protocol.channel();
        expect(leaks(protocol, secret), `protocol (${loginMethod})`).toEqual([]);
        expect(leaks(transport, secret), `transport (${loginMethod})`).toEqual([]);
        expect(leaks(channel, secret), `channel (${loginMethod})`).toEqual([]);
        const closed = await other.queueDeclare(`amqp091-missing-${randomBytes(4).toString('hex')}`, { passive: true }).catch((e: unknown) => e);
        expect(closed).toBeInstanceOf(ChannelClosed);
        expect(leaks(closed, secret)).toEqual([]);
        await protocol.close();
        expect(leaks(protocol.closeError, secret)).toEqual([]);
        expect(leaks(protocol, secret)).toEqual([]);
      }
      // Through a URL, and with the wrong password.
      const url = AMQP_URL.replace(/\/\/[^@]*@/, `//${encodeURIComponent(user)}:${secret}@`);
      const [, p] = await fromUrl(url);
      expect(leaks(p, secret)).toEqual([]);
      await p.close();
      const refused = await connect({ host, port, login: user, password: `${secret}-wrong` }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AmqpClosedConnection);
      expect((refused as AmqpClosedConnection).code).toBe(403);
      expect(leaks(refused, secret)).toEqual([]);
      const bad = (() => {
        try {
          return parseUrl(`amqp://${user}:${secret}@[::1`);
        } catch (e) {
          return e;
        }
      })();
      expect(bad).toBeInstanceOf(TypeError);
      expect(leaks(bad, secret)).toEqual([]);
      // Every error class the package exports, made the way the library makes them.
      for (const [name, value] of Object.entries(root)) {
        if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
        expect(leaks(value, secret), name).toEqual([]);
      }
    } finally {
      await rabbitmqctl('-q', 'delete_user', user);
    }
  }, 60_000);
});
