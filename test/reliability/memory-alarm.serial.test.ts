// Scenario 4: the broker raises a memory alarm. The user hears 'blocked' with
// the broker's reason; confirmed publishes made while blocked are neither
// lost nor failed: they are confirmed after the alarm clears; 'unblocked'
// follows. Broker-wide, so serial; the watermark is restored whatever happens.
import { afterEach, describe, expect, it } from 'vitest';
import { fromUrl, type AmqpProtocol, type Transport } from '../../src/index.js';
import { closeIfOpen, AMQP_URL, LOCAL_BROKER, WATERMARK, rabbitmqctl, uniqueName } from '../support/broker.js';
import { sleep, track, waitFor } from '../support/async.js';
import { startLeakCheck, type LeakCheck } from '../support/leaks.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  try {
    await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
  } finally {
    await cleanup?.();
    cleanup = undefined;
  }
});

describe.skipIf(!LOCAL_BROKER)('scenario 4: memory alarm', () => {
  it("'blocked' with its reason; publishes made while blocked are held, then confirmed; 'unblocked'", async () => {
    const leaks: LeakCheck = startLeakCheck();
    const queue = uniqueName('s4');
    const errors: Error[] = [];
    let conn: [Transport, AmqpProtocol] | undefined;
    cleanup = async () => {
      if (conn !== undefined) {
        await closeIfOpen(conn[1], { timeout: 500 });
        conn[0].close();
      }
      leaks.stop();
    };
    conn = await fromUrl(AMQP_URL, { onError: (e) => void errors.push(e) });
    const [t, p] = conn;
    const events: string[] = [];
    p.on('blocked', (reason) => events.push(`blocked:${reason}`));
    p.on('unblocked', () => events.push('unblocked'));
    const ch = await p.channel();
    await ch.queueDeclare(queue, { exclusive: true });
    await ch.confirmSelect();

    let held: ReturnType<typeof track>[] = [];
    try {
      await rabbitmqctl('set_vm_memory_high_watermark', '0.00001');
      // RabbitMQ blocks a publishing connection (and tells it) on its next publish.
      const trigger = track(ch.publish('trigger', '', queue));
      await waitFor(() => p.blocked !== null, 20_000, 'connection.blocked');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatch(/^blocked:.*memory/i);
      expect(p.blocked).toMatch(/memory/i);

      held = Array.from({ length: 50 }, (_, i) => track(ch.publish(`held ${i}`, '', queue, { messageId: String(i) })));
      await sleep(500);
      for (const h of held) expect(h.outcome.state).toBe('pending');

      await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
      await waitFor(() => p.blocked === null, 20_000, 'connection.unblocked');
      await Promise.all([trigger.done, ...held.map((h) => h.done)]);
      expect(trigger.outcome.state).toBe('resolved');
      for (const h of held) expect(h.outcome.state).toBe('resolved');
      expect(events).toEqual([events[0], 'unblocked']);
    } finally {
      await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
    }

    // Not lost: all there, in order.
    const { messageCount } = await ch.queueDeclare(queue, { passive: true });
    expect(messageCount).toBe(51);
    expect((await ch.basicGet(queue, { noAck: true })).message.toString()).toBe('trigger');
    for (let i = 0; i < 50; i++) {
      const got = await ch.basicGet(queue, { noAck: true });
      expect(got.message.toString()).toBe(`held ${i}`);
    }
    expect(errors).toEqual([]);
    expect(p.state).toBe('open');
    await p.close();
    t.close();
    conn = undefined;
    await leaks.assertClean();
  }, 90_000);

  it('a connection that dies while blocked rejects its held publishes with the close error', async () => {
    const leaks: LeakCheck = startLeakCheck();
    const errors: Error[] = [];
    let conn: [Transport, AmqpProtocol] | undefined;
    cleanup = async () => {
      if (conn !== undefined) {
        await closeIfOpen(conn[1], { timeout: 500 });
        conn[0].close();
      }
      leaks.stop();
    };
    conn = await fromUrl(AMQP_URL, { onError: (e) => void errors.push(e) });
    const [t, p] = conn;
    const ch = await p.channel();
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.confirmSelect();
    try {
      await rabbitmqctl('set_vm_memory_high_watermark', '0.00001');
      const trigger = track(ch.publish('trigger', '', queue));
      await waitFor(() => p.blocked !== null, 20_000, 'connection.blocked');
      const held = Array.from({ length: 10 }, () => track(ch.publish('held', '', queue)));
      await sleep(200);
      // close() on a blocked connection: does not wait for close-ok (the broker stops reading).
      const t0 = Date.now();
      await p.close();
      expect(Date.now() - t0).toBeLessThan(1000);
      await Promise.all([trigger.done, ...held.map((h) => h.done)]);
      for (const h of [trigger, ...held]) {
        expect(h.outcome.state).toBe('rejected');
        expect((h.outcome as { error: unknown }).error).toBe(p.closeError);
      }
      // A close the user asked for never reaches onError.
      expect(errors).toEqual([]);
    } finally {
      await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
    }
    t.close();
    conn = undefined;
    await leaks.assertClean();
  }, 90_000);
});
