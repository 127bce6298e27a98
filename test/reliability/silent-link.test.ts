// Scenario 2: the link goes silent (the TCP proxy holds every byte and keeps
// both sockets open: a half-open link) with heartbeat 2 s. The client must
// notice within 2.5 heartbeat intervals, fail everything that waits, report
// once, and leave nothing behind.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, connect, type AmqpProtocol, type Transport } from '../../src/index.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { closeIfOpen, BROKER_HOST, BROKER_PORT } from '../support/broker.js';
import { rejectionOf, track, turns } from '../support/async.js';
import { startLeakCheck, type LeakCheck } from '../support/leaks.js';

let proxy: TcpProxy | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
  await proxy?.close();
  proxy = undefined;
});

describe('scenario 2: the link goes silent', () => {
  it('heartbeat 2 s: AmqpClosedConnection (code 0, missed heartbeats) within 2.5 intervals; pending calls and confirms reject', async () => {
    const leaks: LeakCheck = startLeakCheck();
    proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    const errors: Error[] = [];
    let t: Transport | undefined;
    let p: AmqpProtocol | undefined;
    cleanup = async () => {
      await closeIfOpen(p, { timeout: 200 });
      t?.close();
      leaks.stop();
    };
    [t, p] = await connect({ host: proxy.host, port: proxy.port, heartbeat: 2, onError: (e) => void errors.push(e) });
    expect(p.serverHeartbeat).toBe(2);
    const ch = await p.channel();
    const confirmed = await p.channel();
    await confirmed.confirmSelect();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.publish('before', '', queue);

    proxy.pause();
    const paused = Date.now();
    // Made after the link went quiet: none can be answered.
    const declare = track(ch.queueDeclare('', { exclusive: true }));
    const get = track(ch.basicGet(queue));
    const publishes = Array.from({ length: 20 }, (_, i) => track(confirmed.publish(`p${i}`, '', queue)));

    await p.waitClosed(10_000);
    const detectedAfter = Date.now() - paused;
    await Promise.all([declare.done, get.done, ...publishes.map((x) => x.done)]);
    await turns();

    // Detection: ≤ 2.5 × 2 s from the moment the link went silent (API.md: 2h + 1 s).
    expect(detectedAfter).toBeLessThanOrEqual(5000);
    // ...and not before two intervals of silence minus the heartbeat the broker sent before the pause.
    expect(detectedAfter).toBeGreaterThanOrEqual(2000);

    expect(errors).toHaveLength(1);
    const err = errors[0] as AmqpClosedConnection;
    expect(err.constructor).toBe(AmqpClosedConnection);
    expect(err.code).toBe(0);
    expect(err.replyText).toMatch(/heartbeat/);
    expect(p.closeError).toBe(err);
    for (const x of [declare, get, ...publishes]) {
      expect(x.outcome.state).toBe('rejected');
      expect((x.outcome as { error: unknown }).error).toBe(err);
    }
    expect(await rejectionOf(ch.queueDeclare(''))).toBe(err);

    // The client destroyed its socket: the proxy sees its client side go away.
    t.close();
    proxy.resume();
    await proxy.close();
    proxy = undefined;
    expect(errors).toHaveLength(1);
    await leaks.assertClean();
  }, 30_000);
});
