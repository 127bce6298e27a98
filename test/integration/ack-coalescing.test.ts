// Acks made in delivery order go to the broker as one basic.ack(multiple).
// These tests watch the frames on the wire (a tap on the loopback proxy)
// and check with the real broker that exactly the acked messages were
// settled: what was left unacked comes back when the channel closes.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChannelClosed, connect, parseUrl, type AmqpProtocol, type Channel, type Transport } from '../../src/index.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { AMQP_URL, BROKER_HOST, BROKER_PORT, uniqueName } from '../support/broker.js';
import { rejectionOf, waitFor } from '../support/async.js';

interface Settle {
  kind: 'ack' | 'nack' | 'reject';
  tag: number;
  multiple: boolean;
}

/** Parse basic.ack / nack / reject frames out of the client → broker byte stream. */
function tapSettlements(proxy: TcpProxy): Settle[] {
  const seen: Settle[] = [];
  const conn = proxy.connections[0]!;
  let pending: Buffer = Buffer.alloc(0);
  conn.client.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = pending[0] === 0x41 ? 8 : 0; // skip the protocol header
    while (pending.length - at >= 8) {
      const size = pending.readUInt32BE(at + 3);
      if (pending.length - at < size + 8) break;
      if (pending[at] === 1 && pending.readUInt16BE(at + 7) === 60) {
        const method = pending.readUInt16BE(at + 9);
        const tag = Number(pending.readBigUInt64BE(at + 11));
        const bits = pending[at + 19]!;
        if (method === 80) seen.push({ kind: 'ack', tag, multiple: (bits & 1) !== 0 });
        if (method === 120) seen.push({ kind: 'nack', tag, multiple: (bits & 1) !== 0 });
        if (method === 90) seen.push({ kind: 'reject', tag, multiple: false });
      }
      at += size + 8;
    }
    pending = pending.subarray(at);
  });
  return seen;
}

let proxy: TcpProxy;
let transport: Transport;
let protocol: AmqpProtocol;
let channel: Channel;
let wire: Settle[];
const errors: Error[] = [];

beforeEach(async () => {
  errors.length = 0;
  proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
  const u = parseUrl(AMQP_URL);
  [transport, protocol] = await connect({
    ...u,
    host: proxy.host,
    port: proxy.port,
    onError: (e) => void errors.push(e),
  });
  wire = tapSettlements(proxy);
  channel = await protocol.channel();
});

afterEach(async () => {
  await protocol.close();
  transport.close();
  await proxy.close();
  expect(errors).toEqual([]);
});

/** A fresh queue holding `bodies`, and a side channel to inspect it. */
async function queueWith(bodies: string[]): Promise<{ queue: string; side: Channel }> {
  const side = await protocol.channel();
  const { queue } = await side.queueDeclare(uniqueName('acks'), { exclusive: true });
  for (const b of bodies) await side.publish(b, '', queue);
  return { queue, side };
}

/** Deliveries collected without acking: body → delivery tag. */
async function deliverAll(queue: string, n: number): Promise<Map<string, number>> {
  const tags = new Map<string, number>();
  await channel.basicQos({ prefetchCount: n });
  await channel.basicConsume((_c, body, env) => void tags.set(body.toString(), env.deliveryTag), { queueName: queue });
  await waitFor(() => tags.size === n, 5000, `${n} deliveries`);
  return new Map(tags); // requeued messages come back under new tags: keep the first ones

}

/** What is left in `queue` after `channel` closes (its unacked messages requeued). */
async function leftAfterClose(side: Channel, queue: string): Promise<string[]> {
  await channel.close();
  const left: string[] = [];
  for (;;) {
    const r = await side.basicGet(queue, { noAck: true }).catch(() => null);
    if (r === null) return left;
    left.push(r.message.toString());
  }
}

describe('ack coalescing, against the broker', () => {
  it('a consumer acking each message sends far fewer ack frames, and settles everything', async () => {
    const n = 400;
    const { queue, side } = await queueWith(Array.from({ length: n }, (_, i) => `m${i}`));
    const delivered: number[] = [];
    await channel.basicQos({ prefetchCount: 100 });
    await channel.basicConsume(
      (ch, _body, env) => {
        delivered.push(env.deliveryTag);
        ch.basicClientAck(env.deliveryTag);
      },
      { queueName: queue },
    );
    await waitFor(() => delivered.length === n, 10_000, 'all deliveries');
    await waitFor(() => wire.at(-1)?.tag === delivered.at(-1), 5000, 'the last ack on the wire');
    // Every delivered tag is covered by the acks seen, in order.
    let covered = 0;
    for (const s of wire) {
      expect(s.kind).toBe('ack');
      covered = s.multiple ? delivered.filter((t) => t <= s.tag).length : covered + 1;
    }
    expect(covered).toBe(n);
    expect(wire.length).toBeLessThan(n / 2);
    expect(wire.some((s) => s.multiple)).toBe(true);
    expect(await leftAfterClose(side, queue)).toEqual([]);
  });

  it('widens only over an unbroken prefix: skipped messages stay unacked', async () => {
    const { queue, side } = await queueWith(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    const t = await deliverAll(queue, 7);
    // One synchronous run: every frame is still unsent when the next ack comes.
    channel.basicClientAck(t.get('m1')!);
    channel.basicClientAck(t.get('m2')!);
    channel.basicClientAck(t.get('m4')!); // m3 still outstanding: its own frame
    channel.basicClientAck(t.get('m5')!);
    channel.basicReject(t.get('m6')!, { requeue: true });
    await waitFor(() => wire.length === 4, 5000, 'four settlements on the wire');
    expect(wire).toEqual([
      { kind: 'ack', tag: t.get('m2'), multiple: true },
      { kind: 'ack', tag: t.get('m4'), multiple: false },
      { kind: 'ack', tag: t.get('m5'), multiple: false },
      { kind: 'reject', tag: t.get('m6'), multiple: false },
    ]);
    expect((await leftAfterClose(side, queue)).sort()).toEqual(['m3', 'm6', 'm7']);
  });

  it('an ack after the gap is filled widens over what was acked out of order', async () => {
    const { queue, side } = await queueWith(['m1', 'm2', 'm3', 'm4', 'm5']);
    const t = await deliverAll(queue, 5);
    channel.basicClientAck(t.get('m2')!); // out of order
    channel.basicClientNack(t.get('m3')!, { requeue: true });
    channel.basicClientAck(t.get('m1')!); // now the oldest
    channel.basicClientAck(t.get('m4')!); // m2, m3 settled: widens m1's frame
    await waitFor(() => wire.length === 3, 5000, 'three settlements on the wire');
    expect(wire).toEqual([
      { kind: 'ack', tag: t.get('m2'), multiple: false },
      { kind: 'nack', tag: t.get('m3'), multiple: false },
      { kind: 'ack', tag: t.get('m4'), multiple: true },
    ]);
    expect((await leftAfterClose(side, queue)).sort()).toEqual(['m3', 'm5']);
  });

  it('acks in separate event-loop turns are separate frames', async () => {
    const { queue, side } = await queueWith(['m1', 'm2', 'm3']);
    const t = await deliverAll(queue, 3);
    channel.basicClientAck(t.get('m1')!);
    await waitFor(() => wire.length === 1, 5000, 'first ack');
    channel.basicClientAck(t.get('m2')!);
    await waitFor(() => wire.length === 2, 5000, 'second ack');
    expect(wire.map((s) => s.multiple)).toEqual([false, false]);
    expect(await leftAfterClose(side, queue)).toEqual(['m3']);
  });

  it('a double ack still reaches the broker, which closes the channel with 406', async () => {
    const { queue } = await queueWith(['m1', 'm2']);
    const t = await deliverAll(queue, 2);
    channel.basicClientAck(t.get('m1')!);
    channel.basicClientAck(t.get('m1')!);
    const err = await rejectionOf(channel.queueDeclare(queue, { passive: true }));
    expect(err).toBeInstanceOf(ChannelClosed);
    expect((err as ChannelClosed).code).toBe(406);
    expect(wire).toEqual([
      { kind: 'ack', tag: t.get('m1'), multiple: false },
      { kind: 'ack', tag: t.get('m1'), multiple: false },
    ]);
  });
});
