// Server-sent channel.flow (API.md "Channel lifecycle and flow", "Bounded
// memory while waiting"): flow(false) holds that channel's publishes, in
// the connection's one held queue and byte budget (maxHeldBytes →
// PublishBufferFull), flow(true) sends them in order; the client answers
// flow-ok and emits 'flow' once per channel.flow the broker sends, never
// for its own flow() call. RabbitMQ rarely sends channel.flow, so the
// scripted FakeBroker does.
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosed, PublishBufferFull, connect, type AmqpProtocol, type Channel, type Transport } from '../../src/index.js';
import { FakeBroker, wire, type ScriptedConnection } from '../../src/testing/index.js';
import { rejectionOf, sleep } from '../support/async.js';

const { FRAME_BODY, FRAME_HEADER, channelClose, channelOpenOk, methodFrame, u64, u8 } = wire;

let fake: FakeBroker | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await fake?.close();
  fake = undefined;
});

interface Setup {
  server: ScriptedConnection;
  p: AmqpProtocol;
  t: Transport;
  errors: Error[];
}

/** A client connected to a scripted FakeBroker that has done the handshake; the test drives the server. */
async function setup(maxHeldBytes?: number): Promise<Setup> {
  let got!: (c: ScriptedConnection) => void;
  const server = new Promise<ScriptedConnection>((resolve) => (got = resolve));
  fake = await FakeBroker.start({
    script: async (c) => {
      await c.handshake();
      got(c);
      await c.closed;
    },
  });
  const errors: Error[] = [];
  const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void errors.push(e), ...(maxHeldBytes === undefined ? {} : { maxHeldBytes }) });
  cleanups.push(() => {
    t.close();
  });
  return { server: await server, p, t, errors };
}

/** Open channel `id` on the client, the scripted FakeBroker answering. */
async function openChannel(s: Setup, id: number): Promise<Channel> {
  const opening = s.p.channel();
  const f = await s.server.expectMethod(20, 10);
  expect(f.channel).toBe(id);
  await s.server.send(channelOpenOk(id));
  return opening;
}

function flow(channel: number, active: boolean): Buffer {
  return methodFrame(channel, 20, 20, u8(active ? 1 : 0));
}

/** The next publish the client sent: its body as a string. */
async function nextPublish(server: ScriptedConnection, timeout = 2000): Promise<string> {
  const m = await server.expectMethod(60, 40, { timeout });
  expect((await server.nextFrame({ timeout })).type).toBe(FRAME_HEADER);
  const body = await server.nextFrame({ timeout });
  expect(body.type).toBe(FRAME_BODY);
  expect(body.channel).toBe(m.channel);
  return body.payload.toString();
}

/** Whether `p` is still pending after the event loop turned a few times. */
async function isPending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(30);
  return !settled;
}

describe('server channel.flow', () => {
  it('flow(false) holds the channel\'s publishes; flow(true) sends them in order; flow-ok and one flow event each', async () => {
    const s = await setup();
    const ch = await openChannel(s, 1);
    const events: boolean[] = [];
    ch.on('flow', (active) => void events.push(active));
    await s.server.send(flow(1, false));
    const ok = await s.server.expectMethod(20, 21);
    expect(ok.args[0]).toBe(0);
    expect(events).toEqual([false]);
    expect(ch.flowActive).toBe(false);
    const publishes = ['a', 'b', 'c'].map((b) => ch.publish(b, 'ex', 'rk'));
    expect(await isPending(publishes[0]!)).toBe(true);
    // The same flow again: answered and emitted again, still held.
    await s.server.send(flow(1, false));
    expect((await s.server.expectMethod(20, 21)).args[0]).toBe(0);
    expect(events).toEqual([false, false]);
    await s.server.send(flow(1, true));
    expect((await s.server.expectMethod(20, 21)).args[0]).toBe(1);
    expect(await nextPublish(s.server)).toBe('a');
    expect(await nextPublish(s.server)).toBe('b');
    expect(await nextPublish(s.server)).toBe('c');
    await Promise.all(publishes);
    expect(events).toEqual([false, false, true]);
    // Once active again, publishes go straight out.
    await ch.publish('d', 'ex', 'rk');
    expect(await nextPublish(s.server)).toBe('d');
    expect(s.errors).toEqual([]);
  });

  it('only the paused channel waits; the client\'s own flow() call emits nothing', async () => {
    const s = await setup();
    const ch1 = await openChannel(s, 1);
    const ch2 = await openChannel(s, 2);
    const events: boolean[] = [];
    ch1.on('flow', (a) => void events.push(a));
    ch2.on('flow', (a) => void events.push(a));
    await s.server.send(flow(1, false));
    await s.server.expectMethod(20, 21);
    const held = ch1.publish('held', 'ex', 'rk');
    await ch2.publish('free', 'ex', 'rk');
    expect(await nextPublish(s.server)).toBe('free');
    expect(await isPending(held)).toBe(true);

    const own = ch2.flow(false);
    const f = await s.server.expectMethod(20, 20);
    expect(f.channel).toBe(2);
    await s.server.send(methodFrame(2, 20, 21, u8(0)));
    await own;
    expect(events).toEqual([false]);

    await s.server.send(flow(1, true));
    await s.server.expectMethod(20, 21);
    expect(await nextPublish(s.server)).toBe('held');
    await held;
  });

  it('held publishes share the connection\'s maxHeldBytes with blocked; PublishBufferFull past it', async () => {
    const s = await setup(10);
    const ch1 = await openChannel(s, 1);
    const ch2 = await openChannel(s, 2);
    await s.server.send(flow(1, false));
    await s.server.expectMethod(20, 21);
    const held = ch1.publish('12345678', 'ex', 'rk');
    const full = await rejectionOf(ch1.publish('123', 'ex', 'rk'));
    expect(full).toBeInstanceOf(PublishBufferFull);
    // connection.blocked: the other channel's publish counts in the same budget.
    await s.server.send(methodFrame(0, 10, 60, Buffer.from([4, ...Buffer.from('test')])));
    await new Promise<void>((resolve) => s.p.once('blocked', () => resolve()));
    expect(await rejectionOf(ch2.publish('123', 'ex', 'rk'))).toBeInstanceOf(PublishBufferFull);
    const small = ch2.publish('12', 'ex', 'rk');
    // Unblocked: ch2's publish goes; ch1's waits for its flow.
    await s.server.send(methodFrame(0, 10, 61));
    expect(await nextPublish(s.server)).toBe('12');
    await small;
    expect(await isPending(held)).toBe(true);
    await s.server.send(flow(1, true));
    await s.server.expectMethod(20, 21);
    expect(await nextPublish(s.server)).toBe('12345678');
    await held;
  });

  it('the channel closing rejects its held publishes with the close error, before close is emitted', async () => {
    const s = await setup();
    const ch = await openChannel(s, 1);
    await s.server.send(flow(1, false));
    await s.server.expectMethod(20, 21);
    const order: string[] = [];
    const held = ch.publish('x', 'ex', 'rk');
    held.catch(() => order.push('rejected'));
    ch.on('close', () => void order.push('close'));
    await s.server.send(channelClose(1, 406, 'PRECONDITION_FAILED - test'));
    await s.server.expectMethod(20, 41);
    const err = await rejectionOf(held);
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
    expect(await ch.closed).toBe(err);
    expect(order).toEqual(['rejected', 'close']);
  });

  it('waitForConfirms waits for held publishes too', async () => {
    const s = await setup();
    const ch = await openChannel(s, 1);
    const selecting = ch.confirmSelect();
    await s.server.expectMethod(85, 10);
    await s.server.send(methodFrame(1, 85, 11));
    await selecting;
    await expect(ch.waitForConfirms()).resolves.toBeUndefined();
    await s.server.send(flow(1, false));
    await s.server.expectMethod(20, 21);
    const held = ch.publish('x', 'ex', 'rk');
    const waiting = ch.waitForConfirms();
    const timedOut = await rejectionOf(ch.waitForConfirms({ timeout: 20 }));
    expect((timedOut as Error).name).toBe('TimeoutError');
    expect(await isPending(waiting)).toBe(true);
    await s.server.send(flow(1, true));
    await s.server.expectMethod(20, 21);
    expect(await nextPublish(s.server)).toBe('x');
    expect(await isPending(waiting)).toBe(true);
    await s.server.send(methodFrame(1, 60, 80, Buffer.concat([u64(1), u8(0)])));
    await held;
    await waiting;
  });
});
