// Scenario 1: the broker closes the connection (rabbitmqctl close_connection,
// found through our connection_name client property). Every pending call on
// every channel and every unsettled confirmed publish rejects with the one
// AmqpClosedConnection(320, reason); onError hears it once; nothing leaks.
// Serial: it drives the broker with rabbitmqctl.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, fromUrl, type AmqpProtocol, type Channel, type Transport } from '../../src/index.js';
import { closeIfOpen, AMQP_URL, LOCAL_BROKER, connectionPid, rabbitmqctl, uniqueName } from '../support/broker.js';
import { rejectionOf, track, turns } from '../support/async.js';
import { startLeakCheck, type LeakCheck } from '../support/leaks.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

type Tracked = ReturnType<typeof track>;

/** Keep `window` calls of `make` outstanding until one fails; every call is recorded. */
async function keepBusy(all: Tracked[], window: number, make: () => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Tracked>();
  for (;;) {
    while (inFlight.size < window) {
      const c = track(make());
      all.push(c);
      inFlight.add(c);
      void c.done.then(() => inFlight.delete(c));
    }
    await Promise.race([...inFlight].map((c) => c.done));
    if (all.some((c) => c.outcome.state === 'rejected')) {
      await Promise.all([...inFlight].map((c) => c.done));
      return;
    }
  }
}

describe.skipIf(!LOCAL_BROKER)('scenario 1: the broker closes the connection', () => {
  it('AmqpClosedConnection 320 with the reason: onError once, every pending call and unsettled confirm rejects, no leak', async () => {
    const leaks: LeakCheck = startLeakCheck();
    const name = uniqueName('s1');
    const errors: Error[] = [];
    let t: Transport | undefined;
    let p: AmqpProtocol | undefined;
    cleanup = async () => {
      await closeIfOpen(p, { timeout: 200 });
      t?.close();
      leaks.stop();
    };
    [t, p] = await fromUrl(AMQP_URL, { clientProperties: { connection_name: name }, onError: (e) => void errors.push(e) });
    const declarer: Channel = await p.channel();
    const publisher: Channel = await p.channel();
    const { queue } = await declarer.queueDeclare('', { exclusive: true });
    await publisher.confirmSelect();
    const pid = await connectionPid(name);

    // Load on two channels (synchronous calls, confirmed publishes) while the broker closes us.
    const calls: Tracked[] = [];
    const confirms: Tracked[] = [];
    const load = Promise.all([
      keepBusy(calls, 5, () => declarer.queueDeclare('', { exclusive: true, autoDelete: true })),
      keepBusy(confirms, 100, () => publisher.publish('x'.repeat(100), '', queue)),
    ]);
    await rabbitmqctl('close_connection', pid, 'amqp091 reliability: broker says bye');
    await p.waitClosed(10_000);
    await load;
    await turns();

    expect(errors).toHaveLength(1);
    const err = errors[0] as AmqpClosedConnection;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err.constructor).toBe(AmqpClosedConnection);
    expect(err.code).toBe(320);
    expect(err.replyText).toMatch(/^CONNECTION_FORCED/);
    expect(err.replyText).toMatch(/amqp091 reliability: broker says bye/);
    expect(p.state).toBe('closed');
    expect(p.closeError).toBe(err);

    // Nothing pending; what did not succeed before the close failed with the close's own error.
    for (const c of [...calls, ...confirms]) {
      expect(c.outcome.state).not.toBe('pending');
      if (c.outcome.state === 'rejected') expect(c.outcome.error).toBe(err);
    }
    expect(calls.filter((c) => c.outcome.state === 'rejected').length).toBeGreaterThan(0);
    expect(confirms.filter((c) => c.outcome.state === 'rejected').length).toBeGreaterThan(0);
    expect(confirms.filter((c) => c.outcome.state === 'resolved').length).toBeGreaterThan(0);

    // Later calls, on either channel and on the protocol, reject with the same error.
    expect(await rejectionOf(declarer.queueDeclare(''))).toBe(err);
    expect(await rejectionOf(publisher.publish('late', '', queue))).toBe(err);
    expect(await rejectionOf(p.channel())).toBe(err);
    expect(() => declarer.basicClientAck(1)).toThrow(err);
    // close() on the ended connection is a call on it too (API.md).
    expect(await rejectionOf(p.close())).toBe(err);

    t.close();
    expect(errors).toHaveLength(1);
    await leaks.assertClean();
  }, 60_000);
});
