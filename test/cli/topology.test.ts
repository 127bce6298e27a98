// amqp091 declare / bind / unbind / purge / delete, usage errors, broker and
// connection errors, and --help: the CLI as a child process against the broker.

import { afterAll, describe, expect, it } from 'vitest';
import { run, COMMANDS } from '../../src/cli/run.js';
import { CLI_TIMEOUT, cleanUp, cli, messageCount, uniqueName, withBroker } from './helpers.js';

const queues: string[] = [];
const exchanges: string[] = [];
afterAll(() => cleanUp(queues, exchanges), CLI_TIMEOUT);

describe('amqp091 topology commands', () => {
  it(
    'declare queue, declare exchange, bind, publish through it, unbind, purge, delete',
    async () => {
      const q = uniqueName('topo');
      const x = uniqueName('topo-x');
      queues.push(q);
      exchanges.push(x);

      const d = await cli(['declare', 'queue', q, '--arg', 'x-max-length=1000', '--arg', 'x-overflow=reject-publish']);
      expect(d.stderr).toBe(`queue '${q}': 0 messages, 0 consumers\n`);
      expect([d.status, d.stdout]).toEqual([0, `${q}\n`]);
      // The typed argument (integer) made it: redeclaring with a string value is refused.
      const clash = await cli(['declare', 'queue', q, '--arg', 'x-max-length=many']);
      expect(clash.status).toBe(1);
      expect(clash.stderr).toMatch(/^amqp091: channel closed: 406 PRECONDITION_FAILED - .*x-max-length/);

      expect((await cli(['declare', 'exchange', x, '--type', 'topic', '--durable'])).status).toBe(0);
      expect((await cli(['bind', q, x, 'app.*'])).status).toBe(0);
      await withBroker(async (ch) => {
        await ch.confirmSelect();
        await ch.publish('one', x, 'app.start');
        await ch.publish('two', x, 'other.start');
      });
      expect(await messageCount(q)).toBe(1);

      expect((await cli(['unbind', q, x, 'app.*'])).status).toBe(0);
      await withBroker(async (ch) => {
        await ch.confirmSelect();
        await ch.publish('three', x, 'app.start');
      });
      expect(await messageCount(q)).toBe(1);

      const p = await cli(['purge', q]);
      expect([p.status, p.stderr]).toEqual([0, `purged 1 messages from queue '${q}'\n`]);
      const del = await cli(['delete', 'exchange', x, '--url', process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/']);
      expect(del.status).toBe(0);
      const dq = await cli(['delete', 'queue', q]);
      expect([dq.status, dq.stderr]).toEqual([0, `deleted queue '${q}' (0 messages)\n`]);
    },
    CLI_TIMEOUT * 2,
  );

  it(
    'a missing queue is a 404: one line with the reply code and text, exit status 1',
    async () => {
      const q = uniqueName('missing');
      const r = await cli(['purge', q]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`amqp091: channel closed: 404 NOT_FOUND - no queue '${q}' in vhost '/' (in reply to queue.purge; soft error)\n`);
    },
    CLI_TIMEOUT,
  );

  it(
    'an unreachable broker: one line naming the refused connection, exit status 1',
    async () => {
      const r = await cli(['declare', 'queue', 'x', '--url', 'amqp://guest:guest@127.0.0.1:1/']);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('amqp091: connection closed: 0 could not connect to 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n');
    },
    CLI_TIMEOUT,
  );

  it(
    'a bad flag is a usage error: one line, exit status 2, nothing sent',
    async () => {
      const r = await cli(['declare', 'queue', 'x', '--bogus']);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("amqp091 declare: Unknown option '--bogus' (see 'amqp091 declare --help')\n");
      const help = await cli(['declare', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: amqp091 declare queue\|exchange NAME \[options\]\n/);
    },
    CLI_TIMEOUT,
  );
});

describe('amqp091 usage errors and help (in process)', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) => ({ write: (s: string) => into.push(String(s)) > 0 }) as unknown as NodeJS.WritableStream;
    return { out, err, io: { stdin: process.stdin, stdout: sink(out), stderr: sink(err), env: {} } };
  }

  it.each(COMMANDS.map((c) => c.name))('%s --help lists its options', async (name) => {
    const t = io();
    expect(await run([name, '--help'], t.io)).toBe(0);
    expect(t.out.join('')).toMatch(new RegExp(`^Usage: amqp091 ${name}\\b`));
    expect(t.out.join('')).toContain('--url URL');
  });

  it.each([
    [['frobnicate'], "amqp091: unknown command 'frobnicate' (see 'amqp091 --help')"],
    [['declare', 'queue'], "amqp091 declare: missing arguments: amqp091 declare queue|exchange NAME [options] (see 'amqp091 declare --help')"],
    [['declare', 'topic', 'x'], "amqp091 declare: expected 'queue' or 'exchange', got 'topic' (see 'amqp091 declare --help')"],
    [['declare', 'queue', 'q', '--type', 'topic'], "amqp091 declare: option '--type' applies to exchanges only (see 'amqp091 declare --help')"],
    [['purge', 'a', 'b'], "amqp091 purge: unexpected argument 'b' (see 'amqp091 purge --help')"],
    [['consume', 'q', '--count', 'ten'], "amqp091 consume: option '--count' needs an integer >= 1, got 'ten' (see 'amqp091 consume --help')"],
    [['consume', 'q', '--count'], "amqp091 consume: Option '-n, --count <value>' argument missing (see 'amqp091 consume --help')"],
    [['publish', 'x', '--header', 'novalue', '-q', 'q'], "amqp091 publish: option '--header' needs KEY=VALUE, got 'novalue' (see 'amqp091 publish --help')"],
    [['publish', 'x'], "amqp091 publish: say where to publish: --queue QUEUE, or --exchange and --routing-key (see 'amqp091 publish --help')"],
    [['get', 'q', '--url', 'http://x'], "amqp091: --url: not an amqp:// or amqps:// URI: 'http://x' (see 'amqp091 --help')"],
  ])('%j → exit 2: %s', async (argv, line) => {
    const t = io();
    expect(await run(argv, t.io)).toBe(2);
    expect(t.err.join('')).toBe(`${line}\n`);
  });
});
