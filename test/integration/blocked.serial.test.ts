// Broker-wide: raises a memory alarm on the local broker. Runs serially
// (see vitest.config.ts) and always restores the watermark.
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_BROKER, WATERMARK, openSession, rabbitmqctl } from '../support/broker.js';
import { sleep, waitFor } from '../support/async.js';

describe.skipIf(!LOCAL_BROKER)('blocked connections (memory alarm)', () => {
  afterAll(async () => {
    await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
  });

  it("emits 'blocked'/'unblocked', holds publishes while blocked, and close() does not hang", async () => {
    const a = await openSession();
    const b = await openSession();
    const events: string[] = [];
    a.protocol.on('blocked', (reason) => events.push(`blocked:${reason}`));
    a.protocol.on('unblocked', () => events.push('unblocked'));
    const { queue } = await a.channel.queueDeclare('', { exclusive: true });
    try {
      await rabbitmqctl('set_vm_memory_high_watermark', '0.00001');
      // RabbitMQ blocks (and notifies) a connection when it next publishes.
      await a.channel.publish('first', '', queue);
      await b.channel.publish('dropped', '', 'amqp091-nowhere');
      await waitFor(() => a.protocol.blocked !== null && b.protocol.blocked !== null, 15000, 'connection.blocked');
      expect(events[0]).toMatch(/^blocked:/);
      expect(a.protocol.blocked).toMatch(/memory/i);

      let settled = false;
      const held = a.channel.publish('while blocked', '', queue).then(
        () => (settled = true),
        () => (settled = true),
      );
      await sleep(300);
      expect(settled).toBe(false);

      // close() on a blocked connection returns promptly.
      const t0 = Date.now();
      await b.protocol.close();
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(b.protocol.state).toBe('closed');
      b.transport.close();

      await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
      await waitFor(() => a.protocol.blocked === null, 15000, 'connection.unblocked');
      await held;
      expect(events).toEqual([events[0], 'unblocked']);
      const first = await a.channel.basicGet(queue, { noAck: true });
      expect(first.message.toString()).toBe('first');
      const got = await a.channel.basicGet(queue, { noAck: true });
      expect(got.message.toString()).toBe('while blocked');
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    } finally {
      await rabbitmqctl('set_vm_memory_high_watermark', WATERMARK);
      await a.close();
      await b.close();
    }
  }, 60_000);
});
