// Scenario 5: channel errors from the real broker. Each ends that channel
// with ChannelClosed carrying the broker's code (and the class/method that
// caused it), rejects what waited on that channel, and leaves the
// connection and its other channels working; onError hears nothing. A
// thousand in a row leak no channel ids (channelMax 16) and no memory.
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosed, fromUrl, type AmqpProtocol, type Channel, type Transport } from '../../src/index.js';
import { closeIfOpen, AMQP_URL, LOCAL_BROKER, brokerChannelCount, uniqueName } from '../support/broker.js';
import { rejectionOf, track, turns } from '../support/async.js';
import { gc, startLeakCheck, type LeakCheck } from '../support/leaks.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

interface Conn {
  t: Transport;
  p: AmqpProtocol;
  errors: Error[];
}

async function open(name: string, extra: { channelMax?: number } = {}): Promise<Conn> {
  const errors: Error[] = [];
  const [t, p] = await fromUrl(AMQP_URL, { clientProperties: { connection_name: name }, onError: (e) => void errors.push(e), ...extra });
  return { t, p, errors };
}

function expectChannelClosed(err: unknown, code: number, classId: number, methodId: number, text: RegExp): ChannelClosed {
  expect(err).toBeInstanceOf(ChannelClosed);
  const e = err as ChannelClosed;
  expect(e.code).toBe(code);
  expect(e.classId).toBe(classId);
  expect(e.methodId).toBe(methodId);
  expect(e.replyText).toMatch(text);
  return e;
}

/** The connection and a bystander channel still work. */
async function stillWorks(c: Conn, bystander: Channel): Promise<void> {
  expect(c.p.state).toBe('open');
  expect(bystander.isOpen).toBe(true);
  const { queue } = await bystander.queueDeclare('', { exclusive: true });
  await bystander.publish('ok', '', queue);
  expect((await bystander.basicGet(queue, { noAck: true })).message.toString()).toBe('ok');
  const fresh = await c.p.channel();
  await fresh.queueDeclare(queue, { passive: true });
  await fresh.close();
}

describe('scenario 5: channel errors', () => {
  it('404 passive declare of a missing queue, 406 redeclare with other flags, 405 exclusive queue of another connection', async () => {
    const leaks: LeakCheck = startLeakCheck();
    const a = await open(uniqueName('s5a'));
    const b = await open(uniqueName('s5b'));
    const shared = uniqueName('s5-406');
    cleanup = async () => {
      if (a.p.state === 'open') {
        const c = await a.p.channel();
        await c.queueDelete(shared).catch(() => undefined);
      }
      for (const c of [a, b]) {
        await closeIfOpen(c.p, { timeout: 500 });
        c.t.close();
      }
      leaks.stop();
    };
    const bystander = await a.p.channel();

    // 404
    let ch = await a.p.channel();
    const queued = track(ch.queueDeclare('', { exclusive: true })); // queued behind the failing call
    const e404 = expectChannelClosed(await rejectionOf(ch.queueDeclare(uniqueName('missing'), { passive: true })), 404, 50, 10, /NOT_FOUND/);
    await queued.done;
    expect(queued.outcome.state).toBe('resolved'); // sent first: answered before the error
    const after = track(ch.queueDeclare('', { exclusive: true }));
    await after.done;
    expect((after.outcome as { error: unknown }).error).toBe(e404);
    expect(ch.isOpen).toBe(false);
    expect(() => ch.basicClientAck(1)).toThrow(ChannelClosed);
    await stillWorks(a, bystander);

    // 406 (RabbitMQ does not compare flags of exclusive queues, so a shared one, deleted below)
    ch = await a.p.channel();
    await ch.queueDeclare(shared, { autoDelete: false });
    const e406 = expectChannelClosed(
      await rejectionOf(ch.queueDeclare(shared, { autoDelete: true })),
      406,
      50,
      10,
      /PRECONDITION_FAILED.*auto_delete/,
    );
    expect(await rejectionOf(ch.publish('x', '', shared))).toBe(e406);
    await bystander.queueDelete(shared);
    await stillWorks(a, bystander);
    const q = uniqueName('s5-405');
    await bystander.queueDeclare(q, { exclusive: true });

    // 405: b touches a's exclusive queue
    const bCh = await b.p.channel();
    const bBystander = await b.p.channel();
    expectChannelClosed(await rejectionOf(bCh.queueDeclare(q, { exclusive: true })), 405, 50, 10, /RESOURCE_LOCKED/);
    await stillWorks(b, bBystander);
    await stillWorks(a, bystander);

    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    for (const c of [a, b]) {
      await c.p.close();
      c.t.close();
    }
    await leaks.assertClean();
  }, 30_000);

  it('404 publish to a missing exchange arrives asynchronously and closes the channel: pending calls and confirms reject', async () => {
    const leaks: LeakCheck = startLeakCheck();
    const a = await open(uniqueName('s5c'));
    cleanup = async () => {
      await closeIfOpen(a.p, { timeout: 500 });
      a.t.close();
      leaks.stop();
    };
    const bystander = await a.p.channel();
    const missing = uniqueName('no-such-exchange');

    // Without confirms: the publish itself succeeds locally; the close lands on what follows.
    const plain = await a.p.channel();
    await plain.publish('lost', missing, 'rk');
    const next = track(plain.queueDeclare('', { exclusive: true }));
    await next.done;
    expect(next.outcome.state).toBe('rejected');
    const err = expectChannelClosed((next.outcome as { error: unknown }).error, 404, 60, 40, new RegExp(`NOT_FOUND.*${missing}`));
    expect(plain.isOpen).toBe(false);
    expect(await rejectionOf(plain.publish('again', '', 'x'))).toBe(err);
    await stillWorks(a, bystander);

    // A passive no-wait declare of a missing queue: RabbitMQ still closes the channel with 404.
    const noWait = await a.p.channel();
    await noWait.queueDeclare(uniqueName('missing'), { passive: true, noWait: true });
    expectChannelClosed(await rejectionOf(noWait.basicQos({ prefetchCount: 1 })), 404, 50, 10, /NOT_FOUND/);
    await stillWorks(a, bystander);

    // With confirms: the stranded publishes reject with the channel's error.
    const confirmed = await a.p.channel();
    await confirmed.confirmSelect();
    const pubs = [track(confirmed.publish('1', missing, 'rk')), track(confirmed.publish('2', missing, 'rk'))];
    await Promise.all(pubs.map((x) => x.done));
    const e2 = expectChannelClosed((pubs[0]!.outcome as { error: unknown }).error, 404, 60, 40, /NOT_FOUND/);
    expect(pubs[1]!.outcome).toEqual({ state: 'rejected', error: e2 });
    await stillWorks(a, bystander);

    expect(a.errors).toEqual([]);
    await a.p.close();
    a.t.close();
    await leaks.assertClean();
  }, 30_000);

  it.skipIf(!LOCAL_BROKER)('1000 channel errors in a row leak no channel ids (channelMax 16) and no memory', async () => {
    const leaks: LeakCheck = startLeakCheck();
    const name = uniqueName('s5d');
    const a = await open(name, { channelMax: 16 });
    cleanup = async () => {
      await closeIfOpen(a.p, { timeout: 500 });
      a.t.close();
      leaks.stop();
    };
    expect(a.p.serverChannelMax).toBe(16);
    const bystander = await a.p.channel();
    const missing = uniqueName('missing');
    const oneError = async (i: number): Promise<void> => {
      const ch = await a.p.channel();
      switch (i % 3) {
        case 0:
          expectChannelClosed(await rejectionOf(ch.queueDeclare(missing, { passive: true })), 404, 50, 10, /NOT_FOUND/);
          break;
        case 1:
          expectChannelClosed(await rejectionOf(ch.exchangeDeclare(missing, 'direct', { passive: true })), 404, 40, 10, /NOT_FOUND/);
          break;
        default: {
          await ch.publish('x', missing, 'rk');
          expectChannelClosed(await rejectionOf(ch.basicQos({ prefetchCount: 1 })), 404, 60, 40, /NOT_FOUND/);
        }
      }
    };
    for (let i = 0; i < 100; i++) await oneError(i); // warm up
    await turns();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) await oneError(i);
    await turns();
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const growth = heapAfter - heapBefore;
    console.log(`scenario 5: heap growth over 1000 channel errors: ${(growth / 1024).toFixed(0)} KiB`);
    expect(growth).toBeLessThan(4 * 1024 * 1024);

    // No ids held: 15 channels can still be opened next to the bystander (channelMax 16)...
    const chans: Channel[] = [];
    for (let i = 0; i < 15; i++) chans.push(await a.p.channel());
    for (const ch of chans) expect(ch.channelId).toBeGreaterThanOrEqual(1);
    expect(new Set(chans.map((c) => c.channelId)).size).toBe(15);
    // ...and the broker agrees: bystander + 15.
    expect(await brokerChannelCount(name)).toBe(16);
    for (const ch of chans) await ch.close();
    await stillWorks(a, bystander);
    expect(a.errors).toEqual([]);
    await a.p.close();
    a.t.close();
    await leaks.assertClean();
  }, 60_000);
});
