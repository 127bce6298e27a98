// amqp091 publish / get / consume: bodies from the argument, a file and
// stdin (byte for byte), properties and headers from flags, --json output,
// acks, requeue, confirms, unroutable messages, and an empty queue.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TIMEOUT, cleanUp, cli, messageCount, uniqueName, withBroker } from './helpers.js';

const queues: string[] = [];
const tmp = path.resolve('.tmp', `cli-messages-${process.pid}`);

async function freshQueue(prefix: string): Promise<string> {
  const q = uniqueName(prefix);
  queues.push(q);
  await withBroker((ch) => ch.queueDeclare(q));
  return q;
}

beforeAll(() => mkdirSync(tmp, { recursive: true }));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await cleanUp(queues);
}, CLI_TIMEOUT);

describe('amqp091 publish, get, consume', () => {
  it(
    'publish with properties and typed headers; get --json shows them; get acks',
    async () => {
      const q = await freshQueue('props');
      const p = await cli([
        'publish', '--queue', q, 'héllo',
        '--content-type', 'text/plain', '--header', 'n=42', '--header', 'ok=true', '--header', 's=x=y',
        '--persistent', '--priority', '3', '--message-id', 'm-1', '--correlation-id', 'c-1', '--reply-to', 'r',
        '--expiration', '60000', '--type', 'greeting', '--app-id', 'cli-test', '--timestamp', '2024-05-06T07:08:09Z',
        '--confirm',
      ]);
      expect([p.status, p.stderr]).toEqual([0, '']);
      const g = await cli(['get', q, '--json']);
      expect([g.status, g.stderr]).toEqual([0, '']);
      expect(g.stdout.endsWith('\n')).toBe(true);
      expect(JSON.parse(g.stdout)).toEqual({
        exchange: '',
        routingKey: q,
        redelivered: false,
        properties: {
          contentType: 'text/plain',
          headers: { n: 42, ok: true, s: 'x=y' },
          deliveryMode: 2,
          priority: 3,
          correlationId: 'c-1',
          replyTo: 'r',
          expiration: '60000',
          messageId: 'm-1',
          timestamp: '2024-05-06T07:08:09.000Z',
          messageType: 'greeting',
          appId: 'cli-test',
        },
        body: 'héllo',
      });
      expect(await messageCount(q)).toBe(0);
      const empty = await cli(['get', q]);
      expect([empty.status, empty.stdout, empty.stderr]).toEqual([3, '', '']);
    },
    CLI_TIMEOUT,
  );

  it(
    'stdin and --file bodies go byte for byte; get prints the raw body, --requeue keeps it; bodyBase64 for non-UTF-8',
    async () => {
      const q = await freshQueue('bytes');
      const binary = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x80, 0x41]);
      const s = await cli(['publish', '-q', q, '--confirm'], { input: binary });
      expect([s.status, s.stderr]).toEqual([0, '']);
      const file = path.join(tmp, 'body.json');
      writeFileSync(file, '{"a":1}\n');
      expect((await cli(['publish', '-q', q, '--file', file, '--content-type', 'application/json'])).status).toBe(0);

      const raw = await cli(['get', q, '--requeue']);
      expect(raw.status).toBe(0);
      expect(raw.stdoutBytes.equals(binary)).toBe(true); // no newline: stdout is not a terminal
      const j = await cli(['get', q, '--json']);
      const first = JSON.parse(j.stdout) as Record<string, unknown>;
      expect(first['redelivered']).toBe(true);
      expect(first['body']).toBeUndefined();
      expect(Buffer.from(first['bodyBase64'] as string, 'base64').equals(binary)).toBe(true);
      const second = JSON.parse((await cli(['get', q, '--json'])).stdout) as Record<string, unknown>;
      expect(second).toMatchObject({ body: '{"a":1}\n', properties: { contentType: 'application/json' } });
    },
    CLI_TIMEOUT,
  );

  it(
    'publish --count --rate --confirm; consume --count --json acks exactly that many and leaves the rest',
    async () => {
      const q = await freshQueue('consume');
      const started = Date.now();
      const p = await cli(['publish', '-q', q, 'm', '--count', '20', '--rate', '100', '--confirm']);
      expect([p.status, p.stderr]).toEqual([0, 'published 20 messages, all confirmed\n']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190); // 20 at 100/s: at least 0.19 s of pacing
      expect(await messageCount(q)).toBe(20);

      const c = await cli(['consume', q, '--count', '5', '--json', '--prefetch', '10']);
      expect([c.status, c.stderr]).toEqual([0, 'received 5 messages\n']);
      const lines = c.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(5);
      for (const m of lines) expect(m).toEqual({ exchange: '', routingKey: q, redelivered: false, properties: {}, body: 'm' });
      expect(await messageCount(q)).toBe(15); // the 5 extra prefetched ones went back unacked

      const plain = await cli(['consume', q, '-n', '3', '--no-ack']);
      expect([plain.status, plain.stdout]).toEqual([0, 'm\nm\nm\n']);
    },
    CLI_TIMEOUT,
  );

  it(
    'consume stops cleanly on SIGINT with the count on stderr, exit status 0',
    async () => {
      const q = await freshQueue('sigint');
      await withBroker(async (ch) => {
        await ch.confirmSelect();
        await Promise.all([ch.publish('a', '', q), ch.publish('b', '', q)]);
      });
      const r = await cli(['consume', q], {
        started: (child) => {
          // Interrupt once both messages are printed.
          let seen = '';
          child.stdout?.on('data', (b: Buffer) => {
            seen += b.toString();
            if (seen === 'a\nb\n') child.kill('SIGINT');
          });
        },
      });
      expect([r.status, r.stdout, r.stderr]).toEqual([0, 'a\nb\n', 'received 2 messages\n']);
      expect(await messageCount(q)).toBe(0);
    },
    CLI_TIMEOUT,
  );

  it(
    'an unroutable --mandatory message, and a consume on a missing queue, exit 1 with the reply code',
    async () => {
      const x = 'amq.direct';
      const r = await cli(['publish', '-e', x, '-k', uniqueName('nobody'), 'lost', '--mandatory']);
      expect([r.status, r.stderr]).toEqual([1, 'amqp091: 1 of 1 messages returned unroutable: 312 NO_ROUTE\n']);
      const q = uniqueName('absent');
      const c = await cli(['consume', q]);
      expect(c.status).toBe(1);
      expect(c.stderr).toBe(`amqp091: channel closed: 404 NOT_FOUND - no queue '${q}' in vhost '/' (in reply to basic.consume; soft error)\n`);
    },
    CLI_TIMEOUT,
  );
});
