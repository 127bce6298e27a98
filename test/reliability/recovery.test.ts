// Recovery against the real broker, with the link cut by a loopback TCP
// proxy (test/support/tcp-proxy.ts): a reset link, a half-open one (missed
// heartbeats), publishes while recovering, maxHeldBytes, stale delivery
// tags, every host down (recoveryFailed), and recovery off as before.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmqpClosedConnection,
  EmptyQueue,
  PublishBufferFull,
  TimeoutError,
  connect,
  fromUrl,
  type AmqpProtocol,
  type Channel,
  type ConnectOptions,
  type Envelope,
  type Transport,
} from '../../src/index.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { closeIfOpen, BROKER_HOST, BROKER_PORT, LOCAL_BROKER, uniqueName } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Recording {
  events: string[];
  errors: Error[];
  disconnected: AmqpClosedConnection[];
  recovered: { host: string; port: number; attempts: number; downtimeMs: number }[];
}

/** A proxy to the broker and a connection through it, with recovery on; both closed after the test. */
async function throughProxy(o: ConnectOptions = {}): Promise<{ proxy: TcpProxy; t: Transport; p: AmqpProtocol; rec: Recording }> {
  const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
  cleanups.push(() => proxy.close());
  const rec: Recording = { events: [], errors: [], disconnected: [], recovered: [] };
  const [t, p] = await connect({
    host: '127.0.0.1',
    port: proxy.port,
    recovery: { initialDelay: 10, maxDelay: 50 },
    onError: (e) => void rec.errors.push(e),
    ...o,
  });
  cleanups.push(async () => {
    await closeIfOpen(p, { timeout: 500 });
    t.close();
  });
  p.on('disconnected', (e) => {
    rec.events.push('disconnected');
    rec.disconnected.push(e);
  });
  p.on('recovering', () => rec.events.push('recovering'));
  p.on('recovered', (info) => {
    rec.events.push('recovered');
    rec.recovered.push(info);
  });
  p.on('recoveryFailed', () => rec.events.push('recoveryFailed'));
  return { proxy, t, p, rec };
}

/** Delete `q` over a connection of its own. */
async function deleteQueue(q: string): Promise<void> {
  const [t, p] = await connect({ host: BROKER_HOST, port: BROKER_PORT });
  await (await p.channel()).queueDelete(q);
  await p.close();
  t.close();
}

function once(p: AmqpProtocol, event: 'recovered' | 'recoveryFailed' | 'disconnected'): Promise<void> {
  return new Promise((resolve) => p.once(event, () => resolve()));
}

describe.skipIf(!LOCAL_BROKER)('recovery through a proxy', () => {
  it('a reset link: same objects keep working, the consumer gets messages again, transport.socket follows', async () => {
    const { proxy, t, p, rec } = await throughProxy();
    const ch = await p.channel();
    const q = uniqueName('rec-basic');
    await ch.queueDeclare(q, { autoDelete: true });
    const got: string[] = [];
    await ch.basicConsume((c, body, env) => {
      got.push(body.toString());
      c.basicClientAck(env.deliveryTag);
    }, { queueName: q });
    await ch.publish('before', '', q);
    await waitFor(() => got.length === 1, 5000, 'first message');
    const firstSocket = t.socket;
    const recovered = once(p, 'recovered');
    proxy.cut();
    await recovered;
    expect(p.state).toBe('open');
    expect(ch.isOpen).toBe(true);
    expect(t.socket).not.toBe(firstSocket);
    expect(rec.events[0]).toBe('disconnected');
    expect(rec.events.at(-1)).toBe('recovered');
    expect(rec.events.filter((e) => e === 'recovering').length).toBe(rec.recovered[0]!.attempts);
    expect(rec.disconnected[0]).toBeInstanceOf(AmqpClosedConnection);
    expect(rec.disconnected[0]!.retriable).toBe(true);
    expect(rec.recovered[0]!.port).toBe(proxy.port);
    expect(rec.errors).toEqual([]); // onError only when recovery gives up
    await ch.publish('after', '', q);
    await waitFor(() => got.length === 2, 5000, 'message after recovery');
    expect(got).toEqual(['before', 'after']);
    expect(ch.consumerTags.length).toBe(1);
  });

  it('delivery tags keep growing; acks of pre-recovery tags are dropped (no 406); multiple acks post-recovery tags', async () => {
    const { proxy, p, rec } = await throughProxy();
    const ch = await p.channel();
    await ch.basicQos({ prefetchCount: 10 });
    const q = uniqueName('rec-tags');
    // Not auto-delete: the broker would delete it with its consumer at the disconnect, messages and all.
    await ch.queueDeclare(q);
    cleanups.push(() => deleteQueue(q));
    const envs: Envelope[] = [];
    await ch.basicConsume((_c, _b, env) => void envs.push(env), { queueName: q });
    await ch.publish('m1', '', q);
    await ch.publish('m2', '', q);
    await waitFor(() => envs.length === 2, 5000, 'two deliveries');
    const recovered = once(p, 'recovered');
    proxy.cut();
    await recovered;
    // Both were unacked: the broker requeued them and delivers them again, with larger tags.
    await waitFor(() => envs.length === 4, 5000, 'redeliveries');
    const [a, b, c, d] = envs.map((e) => e.deliveryTag);
    expect([a, b]).toEqual([1, 2]);
    expect(c).toBeGreaterThan(2);
    expect(d).toBe(c! + 1);
    expect(envs[2]!.isRedeliver).toBe(true);
    // Stale tags: no-ops, never sent.
    ch.basicClientAck(1);
    ch.basicReject(2, { requeue: true });
    ch.basicClientAck(d!, true); // acks c and d
    await ch.publish('m3', '', q);
    await waitFor(() => envs.length === 5, 5000, 'third message');
    expect(envs[4]!.deliveryTag).toBe(d! + 1);
    ch.basicClientAck(envs[4]!.deliveryTag);
    // Nothing came back: the channel is open and the queue empty of unacked messages.
    await sleep(200);
    expect(ch.isOpen).toBe(true);
    const check = await p.channel();
    const { messageCount } = await check.queueDeclare(q, { passive: true });
    expect(messageCount).toBe(0);
    expect(envs.length).toBe(5);
    expect(rec.errors).toEqual([]);
  });

  it('unsettled confirms reject with the disconnect error (retriable); publishes while recovering wait and then go out', async () => {
    const { proxy, p, rec } = await throughProxy({ recovery: { initialDelay: 300, maxDelay: 300 } });
    const ch = await p.channel();
    await ch.confirmSelect();
    const q = uniqueName('rec-confirm');
    await ch.queueDeclare(q, { autoDelete: false });
    cleanups.push(() => deleteQueue(q));
    proxy.pause(); // nothing reaches the broker: these stay unsettled
    const inFlight = [ch.publish('x1', '', q), ch.publish('x2', '', q)];
    await sleep(50);
    const disconnected = once(p, 'disconnected');
    proxy.cut();
    proxy.resume();
    await disconnected;
    expect(p.state).toBe('recovering');
    for (const pub of inFlight) {
      const err = await rejectionOf(pub);
      expect(err).toBe(rec.disconnected[0]);
      expect((err as AmqpClosedConnection).retriable).toBe(true);
    }
    // Made while recovering: held, then sent on the new link (confirmed there).
    const waiting = ch.publish('y1', '', q);
    const declared = ch.queueDeclare(q, { passive: true });
    await waiting;
    expect(rec.recovered.length).toBe(1);
    expect((await declared).messageCount).toBeGreaterThanOrEqual(0);
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.toString()).toBe('y1');
  });

  it('maxHeldBytes: a publish past it rejects PublishBufferFull at once while recovering; one within it is held', async () => {
    const { proxy, p } = await throughProxy({ maxHeldBytes: 1000 });
    const ch = await p.channel();
    const q = uniqueName('rec-held');
    await ch.queueDeclare(q, { autoDelete: false, exclusive: true });
    const disconnected = once(p, 'disconnected');
    proxy.cut();
    proxy.pause(); // recovery attempts hang in the handshake until resume(): the publishes below are held
    await disconnected;
    const held = ch.publish(Buffer.alloc(600), '', q);
    const tooMuch = await rejectionOf(ch.publish(Buffer.alloc(600), '', q));
    expect(tooMuch).toBeInstanceOf(PublishBufferFull);
    expect(await rejectionOf(ch.publish(Buffer.alloc(1001), '', q))).toBeInstanceOf(PublishBufferFull);
    proxy.resume();
    await held;
    await waitFor(() => p.state === 'open', 5000, 'recovered');
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.length).toBe(600);
  });

  it('missed heartbeats on a half-open link start recovery within 2 intervals + 1 s', async () => {
    const { proxy, p, rec } = await throughProxy({ heartbeat: 1 });
    const ch = await p.channel();
    const t0 = Date.now();
    proxy.pause();
    await once(p, 'disconnected');
    const detected = Date.now() - t0;
    expect(detected).toBeLessThanOrEqual(3000);
    proxy.resume();
    await waitFor(() => p.state === 'open', 10_000, 'recovered');
    expect(rec.recovered.length).toBe(1);
    await ch.queueDeclare('', { exclusive: true });
  });

  it('every host down: recoveryFailed once after maxAttempts; waiting calls and onError get the same error', async () => {
    const { proxy, p, rec } = await throughProxy({ recovery: { initialDelay: 5, maxDelay: 20, maxAttempts: 3 } });
    const ch = await p.channel();
    const failed = new Promise<AmqpClosedConnection>((resolve) => p.once('recoveryFailed', resolve));
    await proxy.close(); // stops listening too: every attempt is refused
    const waiting = ch.queueDeclare('', { exclusive: true });
    const err = await failed;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err.message).toMatch(/recovery failed after 3 attempts/);
    expect(err.retriable).toBe(false);
    expect(err.cause).toBeInstanceOf(AmqpClosedConnection);
    expect(await rejectionOf(waiting)).toBe(err);
    expect(rec.events.filter((e) => e === 'recovering').length).toBe(3);
    expect(rec.events.filter((e) => e === 'recoveryFailed').length).toBe(1);
    expect(rec.errors).toEqual([err]);
    expect(p.state).toBe('closed');
    expect(ch.isOpen).toBe(false);
    await p.waitClosed(1000);
  });

  it('recovery off: disconnected first, then onError with the same error; the connection is closed', async () => {
    const { proxy, p, rec } = await throughProxy({ recovery: false });
    const ch: Channel = await p.channel();
    const disconnected = once(p, 'disconnected');
    proxy.cut();
    await disconnected;
    await waitFor(() => rec.errors.length === 1, 2000, 'onError');
    expect(rec.errors[0]).toBe(rec.disconnected[0]);
    expect(p.state).toBe('closed');
    expect(ch.isOpen).toBe(false);
    expect(rec.events).toEqual(['disconnected']);
  });

  it('close() while recovering stops recovery: no more attempts, no timer left', async () => {
    const { proxy, p, rec } = await throughProxy({ recovery: { initialDelay: 60_000, maxDelay: 60_000 } });
    const ch = await p.channel();
    const disconnected = once(p, 'disconnected');
    proxy.cut();
    await disconnected;
    const waiting = ch.queueDeclare('', { exclusive: true });
    await p.close();
    expect(p.state).toBe('closed');
    const err = await rejectionOf(waiting);
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(200);
    expect(rec.errors).toEqual([]);
  });

  it('the initial connect makes one pass over the hosts and rejects with every host error', async () => {
    const dead = await startProxy({ targetPort: BROKER_PORT });
    const port = dead.port;
    await dead.close();
    const err = await rejectionOf(connect({ hosts: [`127.0.0.1:${port}`, { host: '127.0.0.1', port }], connectTimeout: 2000 }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    const errors = (err as AmqpClosedConnection).errors!;
    expect(errors.length).toBe(2);
    expect(errors[1]).toBe(err);
    expect((errors[0]!.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    const [t, p] = await connect({ hosts: [`127.0.0.1:${port}`, `${BROKER_HOST}:${BROKER_PORT}`] });
    expect(p.state).toBe('open');
    await p.close();
    t.close();
  });
});

describe.skipIf(!LOCAL_BROKER)('publish timeout and signal', () => {
  it('a held publish that times out or is aborted is dropped, never sent, and frees its bytes', async () => {
    const { proxy, p } = await throughProxy({ maxHeldBytes: 1000 });
    const ch = await p.channel();
    const q = uniqueName('rec-bounded');
    await ch.queueDeclare(q, { exclusive: true });
    const disconnected = once(p, 'disconnected');
    proxy.cut();
    proxy.pause(); // recovery hangs in the handshake until resume(): the publishes below are held
    await disconnected;
    const timedOut = ch.publish(Buffer.alloc(700), '', q, {}, { timeout: 50 });
    const c = new AbortController();
    const aborted = ch.publish('aborted', '', q, {}, { signal: c.signal });
    c.abort();
    expect(await rejectionOf(aborted)).toBe(c.signal.reason);
    expect(await rejectionOf(timedOut)).toBeInstanceOf(TimeoutError);
    // Its 700 bytes no longer count: this one fits.
    const kept = ch.publish(Buffer.alloc(700), '', q, {}, { timeout: 10_000 });
    proxy.resume();
    await kept;
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.length).toBe(700);
    expect(await rejectionOf(ch.basicGet(q, { noAck: true }))).toBeInstanceOf(EmptyQueue);
    const pre = new AbortController();
    pre.abort();
    expect(await rejectionOf(ch.publish('never', '', q, {}, { signal: pre.signal }))).toBe(pre.signal.reason);
  });

  it('a confirm that does not come in time rejects TimeoutError; the broker may still confirm it, and waitForConfirms counts that', async () => {
    const { proxy, p } = await throughProxy();
    const ch = await p.channel();
    await ch.confirmSelect();
    const q = uniqueName('rec-confirm-timeout');
    await ch.queueDeclare(q, { exclusive: true });
    proxy.pause();
    const late = ch.publish('late', '', q, {}, { timeout: 100 });
    expect(await rejectionOf(late)).toBeInstanceOf(TimeoutError);
    proxy.resume();
    await ch.waitForConfirms({ timeout: 5000 });
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.toString()).toBe('late');
  });
});

describe.skipIf(!LOCAL_BROKER)('fromUrl with a list of URLs', () => {
  it('tries each URL in turn with its own credentials; rejects with every error when all fail', async () => {
    const good = `amqp://guest:guest@${BROKER_HOST}:${BROKER_PORT}/`;
    const badPassword = `amqp://guest:wrong@${BROKER_HOST}:${BROKER_PORT}/`;
    const [t, p] = await fromUrl([badPassword, good], { connectTimeout: 5000 });
    expect(p.state).toBe('open');
    await p.close();
    t.close();
    const err = await rejectionOf(fromUrl([badPassword, badPassword], { connectTimeout: 5000 }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).errors?.length).toBe(2);
    // Options override every URL: the right password makes both work.
    const [t2, p2] = await fromUrl([badPassword], { password: 'guest' });
    expect(p2.state).toBe('open');
    await p2.close();
    t2.close();
  });
});
