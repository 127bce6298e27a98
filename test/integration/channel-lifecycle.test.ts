// Channel lifecycle (API.md "Channel lifecycle and flow", "Channel close
// event"): 'close' exactly once with the error that ended the channel, or
// null when the user asked; `closed` resolves at the same moment with the
// same value; pending calls are rejected first; never 'error'. Against the
// real broker, and through a proxy for recovery.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, ChannelClosed, connect, type AmqpProtocol, type Channel } from '../../src/index.js';
import { encodeBasicQos } from '../../generated/basic.js';
import { startProxy } from '../support/tcp-proxy.js';
import { BROKER_HOST, BROKER_PORT, LOCAL_BROKER, closeIfOpen, openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function session(): Promise<Session> {
  const s = await openSession();
  cleanups.push(() => s.close());
  return s;
}

/** Every 'close' the channel emits, and what `closed` resolved to (undefined while pending). */
function watch(ch: Channel): { closes: (Error | null)[]; closed: () => Error | null | undefined } {
  const closes: (Error | null)[] = [];
  let closed: Error | null | undefined;
  ch.on('close', (err) => void closes.push(err));
  void ch.closed.then((v) => (closed = v));
  return { closes, closed: () => closed };
}

describe('channel close event', () => {
  it('broker closes the channel with no call pending (publish to a missing exchange): close once with ChannelClosed 404, onError not needed', async () => {
    const s = await session();
    const ch = s.channel;
    const w = watch(ch);
    const exchange = uniqueName('missing');
    void ch.publish('x', exchange, 'rk');
    const err = await ch.closed;
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    expect(err!.message).toContain(exchange);
    expect(w.closes).toEqual([err]);
    expect(w.closed()).toBe(err);
    expect(ch.state).toBe('closed');
    expect(s.errors).toEqual([]);
    // Later ends of the connection do not emit again.
    await s.protocol.close();
    await sleep(20);
    expect(w.closes).toEqual([err]);
    expect(ch.listenerCount('close')).toBe(1);
  });

  it('pending calls are rejected before close is emitted and closed resolves at that moment', async () => {
    const s = await session();
    const ch = s.channel;
    let pendingState = 'pending';
    const pending = ch.queueDeclare(uniqueName('never'), { passive: true });
    void pending.then(
      () => (pendingState = 'resolved'),
      () => (pendingState = 'rejected'),
    );
    const seen: string[] = [];
    const order: string[] = [];
    pending.catch(() => order.push('rejected'));
    ch.on('close', () => void order.push('close'));
    let closedSettled = false;
    void ch.closed.then(() => (closedSettled = true));
    ch.on('close', () => {
      // Reactions queued before the emit run before this microtask.
      queueMicrotask(() => seen.push(`${pendingState} ${String(closedSettled)}`));
    });
    const err = await rejectionOf(pending);
    expect(err).toBeInstanceOf(ChannelClosed);
    expect(await ch.closed).toBe(err);
    await sleep(0);
    expect(seen).toEqual(['rejected true']);
    expect(order).toEqual(['rejected', 'close']);
  });

  it('channel.close() gives close with null, once; closed resolves null', async () => {
    const s = await session();
    const ch = await s.protocol.channel();
    const w = watch(ch);
    await ch.close();
    expect(w.closes).toEqual([null]);
    expect(await ch.closed).toBeNull();
    // A second close() is a call on a closed channel: it rejects (API.md) and emits nothing.
    const again = await rejectionOf(ch.close());
    expect(again).toBeInstanceOf(ChannelClosed);
    expect((again as ChannelClosed).code).toBe(0);
    await s.protocol.close();
    expect(w.closes).toEqual([null]);
  });

  it('protocol.close() and transport.close() give close with null on every channel', async () => {
    const s = await session();
    const a = watch(s.channel);
    const b = watch(await s.protocol.channel());
    await s.protocol.close();
    expect(a.closes).toEqual([null]);
    expect(b.closes).toEqual([null]);

    const s2 = await session();
    const c = watch(s2.channel);
    s2.transport.close();
    expect(await s2.channel.closed).toBeNull();
    expect(c.closes).toEqual([null]);
  });

  it('the broker closing the connection gives close with its AmqpClosedConnection', async () => {
    const s = await session();
    const ch = s.channel;
    const w = watch(ch);
    // A method on a channel that was never opened: the broker closes the connection (504 CHANNEL_ERROR).
    s.protocol.fw.writeMethod(999, encodeBasicQos, { prefetchSize: 0, prefetchCount: 1, global: false });
    const err = await ch.closed;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(w.closes).toEqual([err]);
    expect((err as AmqpClosedConnection).code).toBe(504);
    expect(err).toBe(s.protocol.closeError);
  });

  it('a listener that throws goes to onError; the other listeners still run; no error event', async () => {
    const s = await session();
    const ch = await s.protocol.channel();
    const boom = new Error('listener failed');
    const ran: string[] = [];
    ch.on('close', () => {
      ran.push('first');
      throw boom;
    });
    ch.on('close', () => void ran.push('second'));
    ch.once('close', async () => {
      ran.push('third');
      throw new Error('async listener failed');
    });
    await ch.close();
    expect(ran).toEqual(['first', 'second', 'third']);
    await waitFor(() => s.errors.length === 2);
    expect(s.errors[0]).toBe(boom);
    expect(s.errors[1]!.message).toBe('async listener failed');
    expect(ch.listenerCount('close')).toBe(2);
    expect(ch.listenerCount('error')).toBe(0);
  });
});

describe.skipIf(!LOCAL_BROKER)('channel close event with recovery', () => {
  async function throughProxy(maxAttempts: number): Promise<{ proxy: Awaited<ReturnType<typeof startProxy>>; p: AmqpProtocol; errors: Error[] }> {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    cleanups.push(() => proxy.close());
    const errors: Error[] = [];
    const [t, p] = await connect({
      host: '127.0.0.1',
      port: proxy.port,
      recovery: { initialDelay: 10, maxDelay: 30, maxAttempts },
      onError: (e) => void errors.push(e),
    });
    cleanups.push(async () => {
      await closeIfOpen(p, { timeout: 500 });
      t.close();
    });
    return { proxy, p, errors };
  }

  it('a lost link does not close the channel; recovery brings it back without a close event', async () => {
    const { proxy, p } = await throughProxy(100);
    const ch = await p.channel();
    const w = watch(ch);
    const recovered = new Promise<void>((resolve) => p.once('recovered', () => resolve()));
    proxy.cut();
    await recovered;
    expect(ch.isOpen).toBe(true);
    await ch.queueDeclare('', { exclusive: true });
    expect(w.closes).toEqual([]);
    expect(w.closed()).toBeUndefined();
    await p.close();
    expect(w.closes).toEqual([null]);
  });

  it('when recovery gives up, each channel emits close once with the recoveryFailed error', async () => {
    const { proxy, p } = await throughProxy(2);
    const ch = await p.channel();
    const w = watch(ch);
    const failed = new Promise<AmqpClosedConnection>((resolve) => p.once('recoveryFailed', resolve));
    await proxy.close();
    const err = await failed;
    expect(await ch.closed).toBe(err);
    expect(w.closes).toEqual([err]);
  });
});
