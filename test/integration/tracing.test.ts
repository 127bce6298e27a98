// Tracing (API.md "Tracing" and the Tracing bullet of "Beyond aioamqp:
// precise semantics"): the diagnostics_channel TracingChannels
// amqp091:publish, amqp091:consume, amqp091:rpc and the amqp091:connection
// channel, against the broker.
import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, type ConnectionTraceMessage, type ConsumeTraceContext, type PublishTraceContext, type RpcTraceContext } from '../../src/index.js';
import { encodeConnectionBlocked, encodeConnectionUnblocked } from '../../generated/connection.js';
import { FakeBroker } from '../../src/testing/index.js';
import { methodFrame } from '../../src/testing/frames.js';
import { traced } from '../../src/tracing.js';
import { takeUnhandledErrors } from '../support/setup.js';
import { startProxy } from '../support/tcp-proxy.js';
import { rejectionOf, waitFor } from '../support/async.js';
import { BROKER_HOST, BROKER_PORT, LOCAL_BROKER, openSession, uniqueName, type Session } from '../support/broker.js';

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const PHASES: Phase[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/** Every event of tracing channel `name`, in order, with the context's keys as they were at `start`. */
function record<C extends object>(name: string): { events: { phase: Phase; ctx: C }[]; startKeys: string[][]; stop(): void } {
  const ch = dc.tracingChannel<unknown, C>(name);
  const events: { phase: Phase; ctx: C }[] = [];
  const startKeys: string[][] = [];
  const handlers = Object.fromEntries(
    PHASES.map((phase) => [
      phase,
      (ctx: C) => {
        if (phase === 'start') startKeys.push(Object.keys(ctx).sort());
        events.push({ phase, ctx });
      },
    ]),
  ) as unknown as dc.TracingChannelSubscribers<C>;
  ch.subscribe(handlers);
  return { events, startKeys, stop: () => void ch.unsubscribe(handlers) };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function session(): Promise<Session> {
  const s = await openSession();
  cleanups.push(() => s.close());
  return s;
}

/** A queue of the session's (exclusive) and a consumer putting what it gets in `got`. */
async function queueWithConsumer(s: Session, prefix: string, cb?: (ctx: { body: string }) => unknown) {
  const { queue } = await s.channel.queueDeclare(uniqueName(prefix), { exclusive: true });
  const got: { body: string; headers: Record<string, unknown> | undefined }[] = [];
  await s.channel.basicConsume(
    (_ch, body, _e, properties) => {
      got.push({ body: body.toString(), headers: properties.headers });
      return cb?.({ body: body.toString() }) as void;
    },
    { queueName: queue, noAck: true },
  );
  return { queue, got };
}

describe('amqp091:publish', () => {
  it('context exactly as listed; a traceparent added at start reaches the consumer; the caller’s properties untouched', async () => {
    const s = await session();
    const { queue, got } = await queueWithConsumer(s, 'trace-pub');
    const rec = record<PublishTraceContext>('amqp091:publish');
    cleanups.push(rec.stop);
    const inject = (ctx: PublishTraceContext): void => void (ctx.properties.headers.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    dc.subscribe('tracing:amqp091:publish:start', inject as (m: unknown) => void);
    cleanups.push(() => dc.unsubscribe('tracing:amqp091:publish:start', inject as (m: unknown) => void));

    const headers = { 'x-app': 'a' };
    const props = Object.freeze({ contentType: 'text/plain', headers: Object.freeze(headers) });
    await s.channel.publish('héllo', '', queue, props);
    await s.channel.publish(Buffer.from([1, 2, 3]), '', queue); // no properties at all: headers still an object
    await waitFor(() => got.length === 2);

    expect(rec.startKeys[0]).toEqual(['bodySize', 'channelId', 'exchange', 'host', 'port', 'properties', 'routingKey']);
    const ctx = rec.events[0]!.ctx;
    expect(ctx).toMatchObject({ exchange: '', routingKey: queue, channelId: s.channel.channelId, bodySize: 6 });
    expect(ctx.host).toBe(s.transport.socket.remoteAddress);
    expect(ctx.port).toBe(s.transport.socket.remotePort);
    expect(ctx.port).toBe(BROKER_PORT);
    expect(ctx.properties).not.toBe(props);
    expect(ctx.properties.headers).not.toBe(headers);
    expect(ctx.properties).toEqual({ contentType: 'text/plain', headers: { 'x-app': 'a', traceparent: expect.stringMatching(/^00-/) } });
    // The caller's objects (frozen: a write would throw) are as they were.
    expect(headers).toEqual({ 'x-app': 'a' });
    expect(got[0]!.headers).toEqual({ 'x-app': 'a', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(rec.events[4]!.ctx.properties).toEqual({ headers: { traceparent: expect.any(String) } });
    expect(rec.events[4]!.ctx.bodySize).toBe(3);
    expect(got[1]!.headers).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  });

  it('tracePromise: ends when the publish promise settles (confirm ack; a failure publishes error)', async () => {
    const s = await session();
    await s.channel.confirmSelect();
    const rec = record<PublishTraceContext>('amqp091:publish');
    cleanups.push(rec.stop);
    const p = s.channel.publish('x', '', 'nowhere-' + uniqueName('q'));
    expect(rec.events.map((e) => e.phase)).toEqual(['start', 'end']);
    await p;
    expect(rec.events.map((e) => e.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);

    const err = await rejectionOf(s.channel.publish('x', 'no-such-exchange-' + uniqueName('x'), 'k'));
    await waitFor(() => rec.events.length === 9);
    expect(rec.events.slice(4).map((e) => e.phase)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(rec.events[6]!.ctx.error).toBe(err);
  });

  it('a subscriber that throws breaks neither the publish nor the delivery (Node reports the exception)', async () => {
    const s = await session();
    const { queue, got } = await queueWithConsumer(s, 'trace-throw');
    const boom = (): never => {
      throw new Error('subscriber failed');
    };
    const subs = { start: boom, end: boom, asyncStart: boom, asyncEnd: boom, error: boom };
    dc.tracingChannel('amqp091:publish').subscribe(subs);
    dc.tracingChannel('amqp091:consume').subscribe(subs);
    cleanups.push(() => {
      dc.tracingChannel('amqp091:publish').unsubscribe(subs);
      dc.tracingChannel('amqp091:consume').unsubscribe(subs);
    });
    await s.channel.publish('still delivered', '', queue);
    await waitFor(() => got.length === 1);
    expect(got[0]!.body).toBe('still delivered');
    await new Promise((r) => setImmediate(r));
    const reported = takeUnhandledErrors();
    expect(reported.length).toBeGreaterThanOrEqual(6); // publish start, end, asyncStart, asyncEnd; consume start, end
    expect(reported.every((e) => (e as Error).message === 'subscriber failed')).toBe(true);
    expect(s.errors).toEqual([]);
  });
});

describe('amqp091:consume', () => {
  it('around each callback: context exactly as listed; a store bound with bindStore is active in the callback', async () => {
    const s = await session();
    const store = new AsyncLocalStorage<ConsumeTraceContext>();
    const start = dc.tracingChannel<unknown, ConsumeTraceContext>('amqp091:consume').start;
    start.bindStore(store, (ctx) => ctx);
    cleanups.push(() => start.unbindStore(store));
    const rec = record<ConsumeTraceContext>('amqp091:consume');
    cleanups.push(rec.stop);
    const inside: (ConsumeTraceContext | undefined)[] = [];
    const { queue, got } = await queueWithConsumer(s, 'trace-cons', () => void inside.push(store.getStore()));
    await s.channel.publish('one', '', queue, { messageId: 'm1' });
    await waitFor(() => got.length === 1);

    expect(rec.startKeys).toEqual([['envelope', 'properties', 'queue']]);
    const ctx = rec.events[0]!.ctx;
    expect(ctx.queue).toBe(queue);
    expect(ctx.envelope.routingKey).toBe(queue);
    expect(ctx.properties.messageId).toBe('m1');
    expect(inside).toEqual([ctx]);
    // A synchronous callback: traceSync.
    expect(rec.events.map((e) => e.phase)).toEqual(['start', 'end']);
    expect(store.getStore()).toBeUndefined();
  });

  it('a callback returning a promise: the trace ends when it settles (rejections publish error)', async () => {
    const s = await session();
    const rec = record<ConsumeTraceContext>('amqp091:consume');
    cleanups.push(rec.stop);
    const store = new AsyncLocalStorage<ConsumeTraceContext>();
    const start = dc.tracingChannel<unknown, ConsumeTraceContext>('amqp091:consume').start;
    start.bindStore(store, (ctx) => ctx);
    cleanups.push(() => start.unbindStore(store));
    const afterAwait: (ConsumeTraceContext | undefined)[] = [];
    const phasesAtFinish: Phase[][] = [];
    const { queue, got } = await queueWithConsumer(s, 'trace-async', async ({ body }) => {
      await new Promise((r) => setTimeout(r, 20));
      afterAwait.push(store.getStore());
      phasesAtFinish.push(rec.events.map((e) => e.phase));
      if (body === 'fail') throw new Error('handler failed');
    });
    await s.channel.publish('ok', '', queue);
    await s.channel.publish('fail', '', queue);
    await waitFor(() => got.length === 2 && rec.events.length === 9);
    expect(phasesAtFinish[0]).toEqual(['start', 'end']);
    expect(rec.events.map((e) => e.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect((rec.events[6]!.ctx.error as Error).message).toBe('handler failed');
    // The store follows the callback across its awaits.
    expect(afterAwait).toEqual([rec.events[0]!.ctx, rec.events[4]!.ctx]);
    // The rejection still reaches onError, as without tracing.
    expect(s.errors.map((e) => e.message)).toEqual(['handler failed']);
  });

  it('iterator messages publish start and end when handed out to the loop', async () => {
    const s = await session();
    const rec = record<ConsumeTraceContext>('amqp091:consume');
    cleanups.push(rec.stop);
    const { queue } = await s.channel.queueDeclare(uniqueName('trace-iter'), { exclusive: true });
    await s.channel.publish('a', '', queue, { messageId: 'a' });
    await s.channel.publish('b', '', queue, { messageId: 'b' });
    const consumer = await s.channel.consume(queue, { noAck: true });
    const seen: string[] = [];
    for await (const m of consumer) {
      // Handed out: its start and end came before the loop body.
      expect(rec.events.at(-1)).toMatchObject({ phase: 'end', ctx: { envelope: m.envelope, properties: m.properties } });
      seen.push(m.properties.messageId!);
      if (seen.length === 2) break;
    }
    expect(rec.startKeys).toEqual([['envelope', 'properties', 'queue'], ['envelope', 'properties', 'queue']]);
    expect(rec.events.map((e) => e.phase)).toEqual(['start', 'end', 'start', 'end']);
    expect(rec.events[0]!.ctx.queue).toBe(queue);
  });
});

describe('amqp091:rpc', () => {
  it('each call is one tracePromise with exchange, routingKey, correlationId, properties; its publish is traced inside it', async () => {
    const s = await session();
    const { queue } = await s.channel.queueDeclare(uniqueName('trace-rpc'), { exclusive: true });
    const server = await s.protocol.rpcServer(queue, (body, properties) => ({ body: `${body.toString()}:${String(properties.headers?.traceparent)}` }));
    const client = await s.protocol.rpcClient();
    cleanups.push(() => Promise.all([client.close(), server.close()]));
    const rec = record<RpcTraceContext>('amqp091:rpc');
    cleanups.push(rec.stop);
    const store = new AsyncLocalStorage<RpcTraceContext>();
    const start = dc.tracingChannel<unknown, RpcTraceContext>('amqp091:rpc').start;
    start.bindStore(store, (ctx) => ctx);
    cleanups.push(() => start.unbindStore(store));
    const inject = (ctx: RpcTraceContext): void => void (ctx.properties.headers.traceparent = `rpc-${ctx.correlationId}`);
    dc.subscribe('tracing:amqp091:rpc:start', inject as (m: unknown) => void);
    cleanups.push(() => dc.unsubscribe('tracing:amqp091:rpc:start', inject as (m: unknown) => void));
    const publishedIn: (RpcTraceContext | undefined)[] = [];
    const onPublish = (ctx: PublishTraceContext): void => {
      if (ctx.routingKey === queue) publishedIn.push(store.getStore());
    };
    dc.subscribe('tracing:amqp091:publish:start', onPublish as (m: unknown) => void);
    cleanups.push(() => dc.unsubscribe('tracing:amqp091:publish:start', onPublish as (m: unknown) => void));

    const caller = { headers: { 'x-q': 1 } };
    const reply = await client.call('', queue, 'ping', caller);
    expect(rec.startKeys).toEqual([['correlationId', 'exchange', 'properties', 'routingKey']]);
    const ctx = rec.events[0]!.ctx;
    expect(ctx).toMatchObject({ exchange: '', routingKey: queue });
    expect(ctx.correlationId).toBe(reply.properties.correlationId);
    expect(ctx.properties).toMatchObject({ correlationId: ctx.correlationId, replyTo: 'amq.rabbitmq.reply-to', headers: { 'x-q': 1 } });
    expect(reply.body.toString()).toBe(`ping:rpc-${ctx.correlationId}`);
    expect(caller).toEqual({ headers: { 'x-q': 1 } });
    expect(rec.events.map((e) => e.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(rec.events[3]!.ctx.result).toBe(reply);
    expect(publishedIn).toEqual([ctx]);
  });
});

describe('amqp091:connection', () => {
  /** Messages about connections through `port` (a proxy of the test's own: no other connection shares it). */
  function connectionEvents(port: () => number): { list: ConnectionTraceMessage[] } {
    const list: ConnectionTraceMessage[] = [];
    const fn = (m: unknown): void => {
      if ((m as ConnectionTraceMessage).port === port()) list.push(m as ConnectionTraceMessage);
    };
    dc.subscribe('amqp091:connection', fn);
    cleanups.push(() => dc.unsubscribe('amqp091:connection', fn));
    return { list };
  }

  it('open and close, with the socket’s remote address', async () => {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    cleanups.push(() => proxy.close());
    const ev = connectionEvents(() => proxy.port);
    const [t, p] = await connect({ host: '127.0.0.1', port: proxy.port });
    expect(ev.list).toEqual([{ event: 'open', host: t.socket.remoteAddress, port: proxy.port }]);
    await p.close();
    t.close();
    expect(ev.list.map((m) => m.event)).toEqual(['open', 'close']);
    expect(ev.list[1]).toMatchObject({ host: '127.0.0.1', port: proxy.port, error: { code: 200 } });
  });

  it('blocked (with its reason) and unblocked, from a FakeBroker', async () => {
    const broker = await FakeBroker.start();
    cleanups.push(() => broker.close());
    const ev = connectionEvents(() => broker.port);
    const [t, p] = await connect({ host: '127.0.0.1', port: broker.port });
    cleanups.push(async () => {
      if (p.state !== 'closed') await p.close({ timeout: 500 });
      t.close();
    });
    await broker.sendRaw(methodFrame(0, encodeConnectionBlocked, { reason: 'low on memory' }));
    await waitFor(() => p.blocked !== null);
    await broker.sendRaw(methodFrame(0, encodeConnectionUnblocked, undefined));
    await waitFor(() => p.blocked === null);
    expect(ev.list).toEqual([
      { event: 'open', host: '127.0.0.1', port: broker.port },
      { event: 'blocked', host: '127.0.0.1', port: broker.port, reason: 'low on memory' },
      { event: 'unblocked', host: '127.0.0.1', port: broker.port },
    ]);
  });

  it.skipIf(!LOCAL_BROKER)('disconnected and recovered when the link is cut (recovery on)', async () => {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    cleanups.push(() => proxy.close());
    const ev = connectionEvents(() => proxy.port);
    const [t, p] = await connect({ host: '127.0.0.1', port: proxy.port, recovery: { initialDelay: 10, maxDelay: 50 }, onError: () => undefined });
    cleanups.push(async () => {
      if (p.state !== 'closed') await p.close({ timeout: 500 });
      t.close();
    });
    proxy.cut();
    await waitFor(() => ev.list.some((m) => m.event === 'recovered'), 10_000, 'recovered');
    expect(ev.list.map((m) => m.event)).toEqual(['open', 'disconnected', 'recovered']);
    expect(ev.list[1]).toMatchObject({ host: '127.0.0.1', port: proxy.port, error: expect.objectContaining({ name: 'AmqpClosedConnection' }) });
    expect(ev.list[2]).toEqual({ event: 'recovered', host: '127.0.0.1', port: proxy.port, attempts: expect.any(Number), downtimeMs: expect.any(Number) });
    await p.close();
    expect(ev.list.map((m) => m.event)).toEqual(['open', 'disconnected', 'recovered', 'close']);
  });
});

describe('nobody subscribes', () => {
  it('no tracing code runs and no context object is made', async () => {
    for (const name of ['amqp091:publish', 'amqp091:consume', 'amqp091:rpc']) expect(dc.tracingChannel(name).hasSubscribers).toBe(false);
    expect(dc.hasSubscribers('amqp091:connection')).toBe(false);
    const spies = (['publish', 'consume', 'handOut', 'rpc', 'connection'] as const).map((k) => vi.spyOn(traced, k));
    cleanups.push(() => spies.forEach((sp) => sp.mockRestore()));
    const s = await session();
    const { queue, got } = await queueWithConsumer(s, 'trace-none');
    await s.channel.publish('x', '', queue);
    await waitFor(() => got.length === 1);
    const { queue: q2 } = await s.channel.queueDeclare(uniqueName('trace-none-iter'), { exclusive: true });
    await s.channel.publish('y', '', q2);
    const consumer = await s.channel.consume(q2, { noAck: true });
    for await (const _m of consumer) break;
    const { queue: rq } = await s.channel.queueDeclare(uniqueName('trace-none-rpc'), { exclusive: true });
    await s.protocol.rpcServer(rq, () => 'pong');
    const client = await s.protocol.rpcClient();
    expect((await client.call('', rq, 'ping')).body.toString()).toBe('pong');
    await s.close();
    for (const sp of spies) expect(sp).not.toHaveBeenCalled();
  });
});
