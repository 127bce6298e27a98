// Scenario 3: the link is cut (the TCP proxy resets both sides) in the middle
// of a publish burst in confirm mode. Every publish must end resolved (the
// broker acked it: checked against the acks seen on the wire by an
// independent tap) or rejected with the connection's error; none pending,
// none resolved without an ack; and every ack the client received resolved
// its publish.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, connect, fromUrl, type AmqpProtocol, type Transport } from '../../src/index.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { closeIfOpen, AMQP_URL, BROKER_HOST, BROKER_PORT, uniqueName } from '../support/broker.js';
import { rejectionOf, track, turns, sleep, waitFor } from '../support/async.js';
import { startLeakCheck, type LeakCheck } from '../support/leaks.js';
import { tapConfirms } from './support.js';

let proxy: TcpProxy | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
  await proxy?.close();
  proxy = undefined;
});

describe('scenario 3: the link is cut during a confirmed publish burst', () => {
  it('every publish resolved (acked on the wire) or rejected; none pending; none resolved without an ack', async () => {
    const leaks: LeakCheck = startLeakCheck();
    proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    const queue = uniqueName('s3');
    const errors: Error[] = [];
    let t: Transport | undefined;
    let p: AmqpProtocol | undefined;
    let admin: [Transport, AmqpProtocol] | undefined;
    cleanup = async () => {
      await closeIfOpen(p, { timeout: 200 });
      t?.close();
      if (admin !== undefined) {
        const ch = await admin[1].channel();
        await ch.queueDelete(queue).catch(() => undefined);
        await admin[1].close();
        admin[0].close();
      }
      leaks.stop();
    };
    admin = await fromUrl(AMQP_URL);
    const adminCh = await admin[1].channel();
    await adminCh.queueDeclare(queue);

    [t, p] = await connect({ host: proxy.host, port: proxy.port, onError: (e) => void errors.push(e) });
    const ch = await p.channel();
    await ch.confirmSelect();
    const tap = tapConfirms(t.socket, ch.channelId);

    const total = 50_000;
    const window = 500;
    const publishes: ReturnType<typeof track>[] = [];
    const burst = (async () => {
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; i < total; i++) {
        const x = track(ch.publish(`message ${i}`, '', queue));
        publishes.push(x);
        inFlight.add(x.done);
        void x.done.then(() => inFlight.delete(x.done));
        if (inFlight.size >= window) await Promise.race(inFlight);
        if (x.outcome.state === 'rejected' || p!.state === 'closed') break;
      }
      await Promise.all(inFlight);
    })();

    // Cut once the burst is well under way (acks flowing, many still unconfirmed).
    await waitFor(() => tap.acked.size >= 2000, 20_000, 'acks to flow');
    proxy.cut();
    await p.waitClosed(10_000);
    await burst;
    await turns();

    expect(errors).toHaveLength(1);
    const err = errors[0] as AmqpClosedConnection;
    expect(err.constructor).toBe(AmqpClosedConnection);
    expect(err.code).toBe(0);
    expect(p.closeError).toBe(err);

    const resolvedTags: number[] = [];
    const rejectedTags: number[] = [];
    publishes.forEach((x, i) => {
      const tag = i + 1; // confirm numbering starts at 1 with the first publish after select
      if (x.outcome.state === 'pending') throw new Error(`publish ${tag} still pending`);
      if (x.outcome.state === 'resolved') resolvedTags.push(tag);
      else {
        rejectedTags.push(tag);
        expect(x.outcome.error).toBe(err);
      }
    });
    console.log(
      `scenario 3: ${publishes.length} published, ${resolvedTags.length} resolved (${tap.acked.size} acked on the wire, ${tap.frames} ack frames), ${rejectedTags.length} rejected`,
    );
    expect(tap.nacked.size).toBe(0);
    // None resolved without an ack on the wire...
    expect(resolvedTags.filter((tag) => !tap.acked.has(tag))).toEqual([]);
    // ...and every ack the client received resolved its publish.
    expect(resolvedTags.length).toBe(tap.acked.size);
    expect(rejectedTags.length).toBeGreaterThan(0);
    expect(resolvedTags.length + rejectedTags.length).toBe(publishes.length);

    // The broker holds at least every message it confirmed (it may hold more: acks lost in the cut).
    const { messageCount } = await adminCh.queueDeclare(queue, { passive: true });
    expect(messageCount).toBeGreaterThanOrEqual(resolvedTags.length);
    expect(messageCount).toBeLessThanOrEqual(publishes.length);

    expect(await rejectionOf(ch.publish('late', '', queue))).toBe(err);
    t.close();
    await adminCh.queueDelete(queue);
    await admin[1].close();
    admin[0].close();
    admin = undefined;
    await proxy.close();
    proxy = undefined;
    expect(errors).toHaveLength(1);
    await leaks.assertClean();
  }, 60_000);

  it('without confirms: publishes waiting for the socket to drain (link stalled) all reject when the link is then cut', async () => {
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
    [t, p] = await connect({ host: proxy.host, port: proxy.port, heartbeat: 0, onError: (e) => void errors.push(e) });
    const ch = await p.channel();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    proxy.pause();
    const payload = Buffer.alloc(64 * 1024, 1);
    const publishes: ReturnType<typeof track>[] = [];
    // Publish until the client holds publishes back (the socket stays above its high-water mark).
    for (let i = 0; i < 2000; i++) {
      publishes.push(track(ch.publish(payload, '', queue)));
      if (i % 50 === 49) {
        await sleep(20);
        if (publishes.filter((x) => x.outcome.state === 'pending').length >= 20) break;
      }
    }
    const waiting = publishes.filter((x) => x.outcome.state === 'pending');
    expect(waiting.length, 'no publish is waiting for the socket to drain').toBeGreaterThanOrEqual(20);
    proxy.cut();
    await p.waitClosed(10_000);
    await Promise.all(publishes.map((x) => x.done));
    await turns();
    expect(errors).toHaveLength(1);
    const err = errors[0] as AmqpClosedConnection;
    expect(err.constructor).toBe(AmqpClosedConnection);
    expect(err.code).toBe(0);
    for (const x of waiting) expect(x.outcome).toEqual({ state: 'rejected', error: err });
    for (const x of publishes) expect(x.outcome.state).not.toBe('pending');
    t.close();
    await proxy.close();
    proxy = undefined;
    await leaks.assertClean();
  }, 60_000);
});
