// Scenario 10: clean shutdown. After protocol.close() no socket, timer or
// listener remains; and a process that goes through a normal session and
// every failure of the other scenarios (without process.exit, without
// transport.close() after failures) exits by itself, promptly.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AmqpClosedConnection, connect, fromUrl } from '../../src/index.js';
import { FakeBroker } from '../../src/testing/index.js';
import { AMQP_URL, BROKER_HOST, BROKER_PORT } from '../support/broker.js';
import { sleep } from '../support/async.js';
import { startLeakCheck } from '../support/leaks.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('scenario 10: clean shutdown', () => {
  it('after protocol.close(): state closed, onError silent, no socket/timer left, socket listeners gone', async () => {
    const leaks = startLeakCheck();
    const errors: Error[] = [];
    const processListeners = process.eventNames().map((e) => `${String(e)}:${process.listenerCount(e)}`);
    const [t, p] = await fromUrl(AMQP_URL, { heartbeat: 1, onError: (e) => void errors.push(e) });
    const ch = await p.channel();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.confirmSelect();
    await ch.basicConsume(() => undefined, { queueName: queue, noAck: true });
    await Promise.all(Array.from({ length: 100 }, () => ch.publish('x', '', queue)));
    await p.close();
    expect(p.state).toBe('closed');
    expect(ch.isOpen).toBe(false);
    // Again, after the end: a call on a closed connection, so it rejects with its close error (API.md).
    const again = await p.close().then(() => null, (e: unknown) => e);
    expect(again).toBeInstanceOf(AmqpClosedConnection);
    expect((again as AmqpClosedConnection).code).toBe(200);
    expect(again).toBe(p.closeError);
    await p.waitClosed(100);
    expect(errors).toEqual([]);
    expect(t.socket.destroyed).toBe(true);
    await sleep(20); // socket.closed turns true a tick before 'close' is emitted
    // Only the library's guard against late socket errors may stay on the dead socket.
    expect(t.socket.listenerCount('data')).toBe(0);
    expect(t.socket.listenerCount('drain')).toBe(0);
    expect(process.eventNames().map((e) => `${String(e)}:${process.listenerCount(e)}`)).toEqual(processListeners);
    await leaks.assertClean();
  });

  for (const timeout of [undefined, 300]) {
    it(`close() against a server that never sends close-ok: resolves after ${timeout ?? 'the default 2000'} ms, socket destroyed, nothing left`, async () => {
      const leaks = startLeakCheck();
      let gotClose = false;
      const fake = await FakeBroker.start({
        script: async (c) => {
          await c.handshake();
          await c.expectMethod(10, 50);
          gotClose = true;
          await c.closed; // never answer
        },
      });
      try {
        const errors: Error[] = [];
        const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void errors.push(e) });
        const t0 = Date.now();
        await p.close(timeout === undefined ? {} : { timeout });
        const took = Date.now() - t0;
        const want = timeout ?? 2000;
        expect(took).toBeGreaterThanOrEqual(want - 50);
        expect(took).toBeLessThanOrEqual(want + 500);
        expect(gotClose).toBe(true);
        expect(p.state).toBe('closed');
        expect(t.socket.destroyed).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await fake.close();
      }
      await leaks.assertClean();
    });
  }

  it('a process that runs a session and every failure scenario exits by itself, promptly, without --forceExit', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/reliability/fixtures/exit-child.ts'], {
      cwd: root,
      env: { ...process.env, AMQP_URL, BROKER_HOST, BROKER_PORT: String(BROKER_PORT) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let doneAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (doneAt === 0 && /\ndone \d+\n/.test(stdout)) doneAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    const exitedAfterDone = Date.now() - doneAt;
    expect(signal, `killed: the child did not exit by itself\n${stdout}\n${stderr}`).toBeNull();
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('normal: hello closed');
    expect(stdout).toContain('channel error: 404');
    expect(stdout).toContain('server close: 320');
    expect(stdout).toContain('frame error: true 501');
    expect(stdout).toContain('missed heartbeats: true');
    expect(stdout).toContain('cut: 2000 settled, state closed');
    expect(stdout).toContain('silent link: rejected');
    expect(stdout).toContain('connect failures: true true true');
    expect(stdout).toContain('extra handles []');
    expect(doneAt).toBeGreaterThan(0);
    // Nothing (a close timeout, a linger timer, a socket) keeps the loop alive after the last line.
    expect(exitedAfterDone).toBeLessThan(1000);
  }, 60_000);
});
