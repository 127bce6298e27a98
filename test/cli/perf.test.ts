// amqp091 perf: its counts agree with the broker's (what the queue got),
// --json summary, per-second lines, Ctrl-C, and its temporary queues go away.

import { afterAll, describe, expect, it } from 'vitest';
import { ChannelClosed } from '../../src/index.js';
import type { Summary } from '../../src/cli/perf-stats.js';
import { CLI_TIMEOUT, cleanUp, cli, messageCount, uniqueName } from './helpers.js';

const queues: string[] = [];
afterAll(() => cleanUp(queues), CLI_TIMEOUT);


const TICK = /^ +\d+s, sent \d+ msg\/s, (confirmed \d+ msg\/s, )?received \d+ msg\/s, latency (-|p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms)$/m;

/** The queue perf says it uses, from its first stderr line. */
function queueOf(stderr: string): string {
  const m = /^perf: queue '([^']+)'/.exec(stderr);
  expect(m, stderr).not.toBeNull();
  return m![1]!;
}

async function gone(queue: string): Promise<boolean> {
  try {
    await messageCount(queue);
    return false;
  } catch (err) {
    return err instanceof ChannelClosed && err.code === 404;
  }
}

describe('amqp091 perf', () => {
  it(
    'publishing only, with confirms: sent = confirmed = what the queue holds',
    async () => {
      const q = uniqueName('perf');
      queues.push(q);
      const r = await cli(['perf', '--queue', q, '--producers', '2', '--consumers', '0', '--confirm', '50', '--size', '100', '--duration', '2', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as Summary;
      expect(s.sent).toBeGreaterThan(0);
      expect(s.confirmed).toBe(s.sent);
      expect(s.received).toBe(0);
      expect(s.durationS).toBeGreaterThanOrEqual(2);
      expect(s.sentRate).toBe(Math.round(s.sent / s.durationS));
      expect(await messageCount(q)).toBe(s.sent);
      expect(queueOf(r.stderr)).toBe(q);
      expect(r.stderr).toMatch(TICK);
      expect(r.stderr).toMatch(/^summary: /m);
    },
    CLI_TIMEOUT,
  );

  it(
    'rate-limited, one producer and one consumer on a temporary queue: received = sent, latency percentiles, queue deleted',
    async () => {
      const r = await cli(['perf', '--rate', '200', '--duration', '2', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as Summary;
      expect(s.sent).toBeGreaterThanOrEqual(300);
      expect(s.sent).toBeLessThanOrEqual(2 * 200 + 5);
      expect(s.received).toBe(s.sent);
      expect([s.confirmed, s.confirmedRate]).toEqual([0, 0]);
      expect(s.latencyMs.p50).toBeGreaterThan(0);
      expect(s.latencyMs.p50).toBeLessThanOrEqual(s.latencyMs.p95);
      expect(s.latencyMs.p95).toBeLessThanOrEqual(s.latencyMs.p99);
      expect(await gone(queueOf(r.stderr))).toBe(true);
    },
    CLI_TIMEOUT,
  );

  it(
    'Ctrl-C stops a quorum-queue run cleanly: summary, exit status 0, queue deleted',
    async () => {
      const r = await cli(['perf', '--quorum', '--confirm', '20', '--rate', '100', '--auto-ack'], {
        started: (child) => {
          let err = '';
          let sent = false;
          child.stderr?.on('data', (b: Buffer) => {
            err += b.toString();
            if (!sent && TICK.test(err)) sent = child.kill('SIGINT'); // once: a second Ctrl-C may kill it outright
          });
        },
      });
      const q = queueOf(r.stderr);
      queues.push(q); // deleted after the tests even if perf did not get to it
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^summary: [\d.]+ s\n {2}sent {6}\d+ messages, \d+ msg\/s\n {2}confirmed \d+ messages/m);
      expect(q).toMatch(/^amqp091-perf-[0-9a-f]{12}$/);
      expect(await gone(q)).toBe(true);
    },
    CLI_TIMEOUT,
  );
});
