// Topology replay on the single broker after `rabbitmqctl close_connection`
// (a server close, 320): a server-named exclusive queue bound to a declared
// exchange, an exchange-to-exchange binding, qos and a consumer all come
// back; what was deleted before the fault does not; a replay failure is a
// TopologyRecoveryError to onError and replay goes on.
// Serial: it drives the broker with rabbitmqctl.
import { afterEach, describe, expect, it } from 'vitest';
import { TopologyRecoveryError, ChannelClosed, fromUrl, type AmqpProtocol, type Transport } from '../../src/index.js';
import { closeIfOpen, AMQP_URL, LOCAL_BROKER, connectionPid, rabbitmqctl, uniqueName } from '../support/broker.js';
import { waitFor } from '../support/async.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(name: string, errors: Error[]): Promise<[Transport, AmqpProtocol]> {
  const [t, p] = await fromUrl(AMQP_URL, {
    connectionName: name,
    recovery: { initialDelay: 10, maxDelay: 100 },
    onError: (e) => void errors.push(e),
  });
  cleanups.push(async () => {
    await closeIfOpen(p, { timeout: 500 });
    t.close();
  });
  return [t, p];
}

async function closeFromBroker(p: AmqpProtocol, name: string): Promise<void> {
  const pid = await connectionPid(name);
  const recovered = new Promise<void>((resolve) => p.once('recovered', () => resolve()));
  await rabbitmqctl('close_connection', pid, 'recovery test');
  await recovered;
}

describe.skipIf(!LOCAL_BROKER)('topology replay after close_connection', () => {
  it('server-named queue, bindings (queue and exchange), qos and consumer come back; deleted entities do not', async () => {
    const name = uniqueName('rec-topo');
    const errors: Error[] = [];
    const [, p] = await open(name, errors);
    const ch = await p.channel();
    const source = uniqueName('rec-src');
    const dest = uniqueName('rec-dst');
    const gone = uniqueName('rec-gone');
    cleanups.push(async () => {
      const [t2, p2] = await fromUrl(AMQP_URL);
      const c = await p2.channel();
      for (const x of [source, dest, gone]) await c.exchangeDelete(x);
      await p2.close();
      t2.close();
    });
    await ch.basicQos({ prefetchCount: 5 });
    await ch.exchangeDeclare(source, 'topic');
    await ch.exchangeDeclare(dest, 'fanout');
    await ch.exchangeDeclare(gone, 'fanout');
    await ch.exchangeBind(dest, source, 'app.#');
    const { queue } = await ch.queueDeclare('', { exclusive: true });
    await ch.queueBind(queue, dest, '');
    const got: string[] = [];
    await ch.basicConsume((c, body, env) => {
      got.push(body.toString());
      c.basicClientAck(env.deliveryTag);
    }, { queueName: queue });
    await ch.exchangeDelete(gone);
    await ch.publish('one', source, 'app.start');
    await waitFor(() => got.length === 1, 5000, 'first message');

    const disconnected: Error[] = [];
    p.on('disconnected', (e) => void disconnected.push(e));
    await closeFromBroker(p, name);
    expect((disconnected[0] as { code?: number }).code).toBe(320);
    const renamed = ch.recoveredQueueName(queue);
    expect(renamed).not.toBe(queue);
    expect(renamed).toMatch(/^amq\.gen-/);
    expect(ch.recoveredQueueName(renamed)).toBe(renamed);

    await ch.publish('two', source, 'app.again');
    await waitFor(() => got.length === 2, 5000, 'message after recovery');
    expect(got).toEqual(['one', 'two']);
    expect(errors).toEqual([]);
    // The deleted exchange was not declared again.
    const check = await p.channel();
    const err = await check.exchangeDeclare(gone, 'fanout', { passive: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    // qos came back: with prefetch 5, the broker reports it on the channel.
    const listing = await rabbitmqctl('list_channels', 'connection', 'prefetch_count', '-q', '--no-table-headers');
    const pid = await connectionPid(name);
    expect(listing.split('\n').some((l) => l.startsWith(pid) && l.trim().endsWith('\t5'))).toBe(true);
  });

  it('an entity that cannot be declared again is a TopologyRecoveryError; the rest is replayed', async () => {
    const name = uniqueName('rec-fail');
    const errors: Error[] = [];
    const [, p] = await open(name, errors);
    const ch = await p.channel();
    const q1 = uniqueName('rec-q1');
    const q2 = uniqueName('rec-q2');
    cleanups.push(async () => {
      const [t2, p2] = await fromUrl(AMQP_URL);
      const c = await p2.channel();
      for (const q of [q1, q2]) await c.queueDelete(q);
      await p2.close();
      t2.close();
    });
    await ch.queueDeclare(q1, { durable: false });
    await ch.queueDeclare(q2);
    // Someone else redeclares q1 with other arguments: our replay of it gets 406.
    const [t3, p3] = await fromUrl(AMQP_URL);
    const other = await p3.channel();
    await other.queueDelete(q1);
    await other.queueDeclare(q1, { durable: true });
    await p3.close();
    t3.close();
    const got: string[] = [];
    await ch.basicConsume((c, body, env) => {
      got.push(body.toString());
      c.basicClientAck(env.deliveryTag);
    }, { queueName: q2 });
    await closeFromBroker(p, name);
    const topo = errors.filter((e): e is TopologyRecoveryError => e instanceof TopologyRecoveryError);
    expect(topo.length).toBe(1);
    expect(topo[0]!.entity).toBe(`queue '${q1}'`);
    expect(topo[0]!.cause).toBeInstanceOf(ChannelClosed);
    expect((topo[0]!.cause as ChannelClosed).code).toBe(406);
    await ch.publish('after', '', q2);
    await waitFor(() => got.length === 1, 5000, 'message to the replayed consumer');
    expect(ch.isOpen).toBe(true);
  });
});
