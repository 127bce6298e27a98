// RPC over direct reply-to (API.md "Transactions, secrets, RPC" and the RPC
// bullet of "Beyond aioamqp: precise semantics"), against the broker.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmqpClosedConnection,
  ChannelClosed,
  ConsumerCancelled,
  MessageReturned,
  TimeoutError,
  type Properties,
  type RpcHandler,
} from '../../src/index.js';
import { openSession, uniqueName, type Session } from '../support/broker.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

/** A session with an exclusive request queue (gone with the connection). */
async function withQueue(prefix: string, args = {}): Promise<{ s: Session; q: string }> {
  const s = await openSession();
  const q = uniqueName(prefix);
  await s.channel.queueDeclare(q, { exclusive: true, arguments: args });
  return { s, q };
}

describe('rpcClient and rpcServer', () => {
  let s: Session | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('round trip: the reply carries the request correlationId and the handler’s properties', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-echo'));
    const seen: Properties[] = [];
    const server = await s.protocol.rpcServer(q, (body, properties) => {
      seen.push(properties);
      return { body: `echo:${body.toString()}`, properties: { contentType: 'text/plain', headers: { 'x-by': 'server' } } };
    });
    const client = await s.protocol.rpcClient();
    const reply = await client.call('', q, 'hello', { contentType: 'text/plain', headers: { 'x-req': 1 } });
    expect(Buffer.isBuffer(reply.body)).toBe(true);
    expect(reply.body.toString()).toBe('echo:hello');
    expect(reply.properties.contentType).toBe('text/plain');
    expect(reply.properties.headers).toEqual({ 'x-by': 'server' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.replyTo).toMatch(/^amq\.rabbitmq\.reply-to\./);
    expect(seen[0]!.headers).toEqual({ 'x-req': 1 });
    expect(reply.properties.correlationId).toBe(seen[0]!.correlationId);
    expect(client.pending).toBe(0);
    expect(client.droppedReplies).toBe(0);
    // A Buffer and a plain string are replies too.
    const server2Queue = uniqueName('rpc-buffer');
    await s.channel.queueDeclare(server2Queue, { exclusive: true });
    const server2 = await s.protocol.rpcServer(server2Queue, () => Buffer.from([1, 2, 3]));
    expect([...(await client.call('', server2Queue, '')).body]).toEqual([1, 2, 3]);
    await Promise.all([client.close(), server.close(), server2.close()]);
    expect(s.errors).toEqual([]);
  });

  it('100 concurrent calls, answered out of order, each get their own reply', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-many'));
    const handler: RpcHandler = async (body) => {
      await sleep(Math.floor(Math.random() * 20));
      return String(Number(body.toString()) * 2);
    };
    const server = await s.protocol.rpcServer(q, handler, { concurrency: 10, prefetch: 20 });
    const client = await s.protocol.rpcClient();
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => client.call('', q, String(i))));
    expect(replies.map((r) => Number(r.body.toString()))).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    expect(new Set(replies.map((r) => r.properties.correlationId)).size).toBe(100);
    expect(client.droppedReplies).toBe(0);
    await Promise.all([client.close(), server.close()]);
    expect(s.errors).toEqual([]);
  });

  it('a call that times out rejects with TimeoutError; its late reply is dropped and counted', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-timeout'));
    await s.protocol.rpcServer(q, async (body) => {
      await sleep(300);
      return body;
    });
    const client = await s.protocol.rpcClient({ timeout: 5000 });
    const started = Date.now();
    const err = await rejectionOf(client.call('', q, 'slow', undefined, { timeout: 100 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(client.pending).toBe(0);
    await waitFor(() => client.droppedReplies === 1, 3000, 'the late reply');
    // The client still works.
    expect((await client.call('', q, 'next')).body.toString()).toBe('next');
    expect(client.droppedReplies).toBe(1);
  });

  it('the client default timeout applies to every call', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-default-timeout'));
    const client = await s.protocol.rpcClient({ timeout: 150 });
    expect(await rejectionOf(client.call('', q, 'nobody answers'))).toBeInstanceOf(TimeoutError);
    expect(await rejectionOf(s.protocol.rpcClient({ timeout: -1 }))).toBeInstanceOf(TypeError);
    expect(await rejectionOf(client.call('', q, 'x', undefined, { timeout: 0 }))).toBeInstanceOf(TypeError);
  });

  it('calls with different timeouts each time out at their own deadline, whatever the order they were made in', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-deadlines'));
    // Nobody consumes q: no call gets a reply. One timer serves all calls (rpc-client.ts),
    // so a shorter call made after a longer one must bring it forward.
    const client = await s.protocol.rpcClient({ timeout: 5000 });
    const t0 = performance.now();
    const elapsed = (p: Promise<unknown>): Promise<number> =>
      p.then(
        () => Number.NaN,
        (err: unknown) => (err instanceof TimeoutError ? performance.now() - t0 : Number.NaN),
      );
    const long = elapsed(client.call('', q, 'long', undefined, { timeout: 1500 }));
    const short = elapsed(client.call('', q, 'short', undefined, { timeout: 100 }));
    const mid = elapsed(client.call('', q, 'mid', undefined, { timeout: 400 }));
    const [tShort, tMid] = [await short, await mid];
    expect(tShort).toBeGreaterThanOrEqual(99);
    expect(tShort).toBeLessThan(1000);
    expect(tMid).toBeGreaterThanOrEqual(399);
    expect(tMid).toBeLessThan(1300);
    expect(client.pending).toBe(1);
    expect(await long).toBeGreaterThanOrEqual(1499);
    expect(client.pending).toBe(0);
    // After the timer has run dry, a new call gets its own deadline again.
    const t1 = performance.now();
    expect(await rejectionOf(client.call('', q, 'again', undefined, { timeout: 100 }))).toBeInstanceOf(TimeoutError);
    expect(performance.now() - t1).toBeLessThan(1000);
  });

  it('a request that routes nowhere rejects at once with MessageReturned (312 NO_ROUTE)', async () => {
    s = await openSession();
    const client = await s.protocol.rpcClient();
    const started = Date.now();
    const err = await rejectionOf(client.call('', uniqueName('no-such-queue'), 'lost'));
    expect(err).toBeInstanceOf(MessageReturned);
    const r = err as MessageReturned;
    expect(r.replyCode).toBe(312);
    expect(r.replyText).toBe('NO_ROUTE');
    expect(r.body.toString()).toBe('lost');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await rejectionOf(client.call('amq.direct', 'unbound-key', 'lost'))).toBeInstanceOf(MessageReturned);
    expect(client.pending).toBe(0);
    expect(client.isOpen).toBe(true);
    expect(s.errors).toEqual([]);
  });

  it('replies without a correlationId or with an unknown one are dropped and counted, not thrown', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-bad-replies'));
    // A hand-made server that answers badly twice before answering right.
    const srv = await s.protocol.channel();
    await srv.basicConsume(
      async (ch, body, envelope, properties) => {
        const to = properties.replyTo!;
        await ch.publish('no id', '', to);
        await ch.publish('wrong id', '', to, { correlationId: 'not-a-call' });
        await ch.publish(body, '', to, { correlationId: properties.correlationId });
        ch.basicClientAck(envelope.deliveryTag);
      },
      { queueName: q },
    );
    const client = await s.protocol.rpcClient();
    expect((await client.call('', q, 'right')).body.toString()).toBe('right');
    expect(client.droppedReplies).toBe(2);
    expect(s.errors).toEqual([]);
  });

  it('an already-aborted signal rejects with its reason before anything is sent', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-pre-abort'));
    const client = await s.protocol.rpcClient();
    const reason = new Error('not wanted');
    const err = await rejectionOf(client.call('', q, 'x', undefined, { signal: AbortSignal.abort(reason) }));
    expect(err).toBe(reason);
    await sleep(100);
    expect((await s.channel.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    expect(client.pending).toBe(0);
  });

  it('an abort mid-flight rejects with signal.reason; the late reply is dropped', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-abort'));
    await s.protocol.rpcServer(q, async (body) => {
      await sleep(200);
      return body;
    });
    const client = await s.protocol.rpcClient();
    const ac = new AbortController();
    const p = client.call('', q, 'x', undefined, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const err = await rejectionOf(p);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('AbortError');
    expect(client.pending).toBe(0);
    await waitFor(() => client.droppedReplies === 1, 3000, 'the late reply');
  });

  it('close() rejects the waiting calls with ChannelClosed; later calls reject like a closed channel', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-close'));
    const client = await s.protocol.rpcClient();
    const waiting = [client.call('', q, 'a'), client.call('', q, 'b')].map(rejectionOf);
    await sleep(50);
    expect(client.pending).toBe(2);
    await client.close();
    for (const err of await Promise.all(waiting)) expect(err).toBeInstanceOf(ChannelClosed);
    expect(client.isOpen).toBe(false);
    expect(await rejectionOf(client.call('', q, 'after'))).toBeInstanceOf(ChannelClosed);
    await client.close(); // idempotent
  });

  it('calls waiting when the broker closes the client channel reject with its ChannelClosed', async () => {
    s = await openSession();
    const client = await s.protocol.rpcClient();
    // Nobody answers this queue: the call waits.
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    const waiting = rejectionOf(client.call('', queue, 'waits'));
    // A publish to a missing exchange makes the broker close the channel (404).
    const bad = rejectionOf(client.call(uniqueName('no-such-exchange'), 'k', 'x'));
    for (const err of await Promise.all([waiting, bad])) {
      expect(err).toBeInstanceOf(ChannelClosed);
      expect((err as ChannelClosed).code).toBe(404);
    }
    expect(client.isOpen).toBe(false);
    const after = await rejectionOf(client.call('', queue, 'x'));
    expect((after as ChannelClosed).code).toBe(404);
  });

  it('calls waiting when the connection closes reject with AmqpClosedConnection', async () => {
    s = await openSession();
    const client = await s.protocol.rpcClient();
    const { queue } = await s.channel.queueDeclare('', { exclusive: true });
    const waiting = rejectionOf(client.call('', queue, 'waits'));
    await sleep(20);
    await s.protocol.close();
    expect(await waiting).toBeInstanceOf(AmqpClosedConnection);
    expect(await rejectionOf(client.call('', queue, 'x'))).toBeInstanceOf(AmqpClosedConnection);
  });

  it('a handler that throws: nack without requeue (dead-lettered), error to onError, no reply', async () => {
    s = await openSession();
    const dlq = uniqueName('rpc-dlq');
    const q = uniqueName('rpc-throws');
    await s.channel.queueDeclare(dlq, { exclusive: true });
    await s.channel.queueDeclare(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    const boom = new Error('handler failed');
    const server = await s.protocol.rpcServer(q, () => {
      throw boom;
    });
    const client = await s.protocol.rpcClient();
    expect(await rejectionOf(client.call('', q, 'request', undefined, { timeout: 300 }))).toBeInstanceOf(TimeoutError);
    await waitFor(() => s!.errors.length === 1, 3000, 'onError');
    expect(s.errors[0]).toBe(boom);
    const dead = await s.channel.basicGet(dlq, { noAck: true });
    expect(dead.message.toString()).toBe('request');
    expect((await s.channel.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    expect(client.droppedReplies).toBe(0);
    await server.close();
  });

  it('a rejecting handler and a bad result go to options.onError; the messages are gone without a DLX', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-rejects'));
    const errors: Error[] = [];
    const server = await s.protocol.rpcServer(
      q,
      async (body) => {
        if (body.toString() === 'reject') throw new RangeError('rejected');
        return 42 as unknown as string;
      },
      { onError: (e) => void errors.push(e) },
    );
    await s.channel.publish('reject', '', q);
    await s.channel.publish('bad result', '', q, { replyTo: 'nowhere' });
    await waitFor(() => errors.length === 2, 3000, 'two errors');
    expect(errors[0]).toBeInstanceOf(RangeError);
    expect(errors[1]).toBeInstanceOf(TypeError);
    await server.close();
    expect((await s.channel.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('a handler returning undefined sends no reply, and the request is acked', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-undefined'));
    let calls = 0;
    const server = await s.protocol.rpcServer(q, () => {
      calls++;
      return undefined;
    });
    const client = await s.protocol.rpcClient();
    expect(await rejectionOf(client.call('', q, 'x', undefined, { timeout: 300 }))).toBeInstanceOf(TimeoutError);
    expect(calls).toBe(1);
    await sleep(100);
    expect(client.droppedReplies).toBe(0);
    // Acked: closing the server (which would requeue unacked requests) leaves the queue empty.
    await server.close();
    expect((await s.channel.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('a request without replyTo is handled and acked without a reply', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-no-reply-to'));
    const bodies: string[] = [];
    const server = await s.protocol.rpcServer(q, (body) => {
      bodies.push(body.toString());
      return 'a reply nobody asked for';
    });
    await s.channel.publish('fire and forget', '', q);
    await waitFor(() => bodies.length === 1, 3000, 'the handler');
    await sleep(50);
    await server.close();
    expect(bodies).toEqual(['fire and forget']);
    expect((await s.channel.queueDeclare(q, { passive: true })).messageCount).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('rpcServer on a missing queue rejects with the broker’s ChannelClosed 404', async () => {
    s = await openSession();
    const err = await rejectionOf(s.protocol.rpcServer(uniqueName('missing'), () => 'x'));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(404);
    expect((err as ChannelClosed).replyText).toMatch(/NOT_FOUND/);
    // The connection is unharmed.
    expect(s.channel.isOpen).toBe(true);
    expect(s.errors).toEqual([]);
  });

  it('the server respects concurrency and prefetch', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-concurrency'));
    let running = 0;
    let most = 0;
    const server = await s.protocol.rpcServer(
      q,
      async (body) => {
        most = Math.max(most, ++running);
        await sleep(30);
        running--;
        return body;
      },
      { concurrency: 3, prefetch: 5 },
    );
    const client = await s.protocol.rpcClient();
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.call('', q, String(i))));
    expect(most).toBe(3);
    await server.close();
    // Default concurrency 1.
    const q2 = uniqueName('rpc-serial');
    await s.channel.queueDeclare(q2, { exclusive: true });
    running = 0;
    most = 0;
    const serial = await s.protocol.rpcServer(q2, async (body) => {
      most = Math.max(most, ++running);
      await sleep(10);
      running--;
      return body;
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => client.call('', q2, String(i))));
    expect(most).toBe(1);
    await serial.close();
  });

  it('server close() lets running handlers reply and ack; a deleted queue reports ConsumerCancelled', async () => {
    let q: string;
    ({ s, q } = await withQueue('rpc-server-close'));
    const server = await s.protocol.rpcServer(q, async (body) => {
      await sleep(150);
      return body;
    });
    const client = await s.protocol.rpcClient();
    const p = client.call('', q, 'in flight');
    await sleep(50);
    expect(server.inFlight).toBe(1);
    await server.close();
    expect((await p).body.toString()).toBe('in flight');
    expect(server.isOpen).toBe(false);

    const q2 = uniqueName('rpc-deleted');
    await s.channel.queueDeclare(q2);
    await s.protocol.rpcServer(q2, (b) => b);
    await s.channel.queueDelete(q2);
    await waitFor(() => s!.errors.length === 1, 3000, 'ConsumerCancelled');
    expect(s.errors[0]).toBeInstanceOf(ConsumerCancelled);
  });
});
