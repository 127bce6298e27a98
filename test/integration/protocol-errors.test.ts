// Bad bytes and protocol violations from the peer. A real broker never
// sends these, so they come from a scripted FakeBroker (amqp091/testing).
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, FrameError, SynchronizationError, connect } from '../../src/index.js';
import { FakeBroker, wire, type ScriptedConnection } from '../../src/testing/index.js';
import { rejectionOf, sleep, waitFor } from '../support/async.js';

const {
  bodyFrame,
  channelOpenOk,
  connectionClose,
  connectionCloseOk,
  contentHeaderFrame,
  frame,
  heartbeatFrame,
  longstr,
  methodFrame,
  parseClose,
  parseOpen,
  shortstr,
  u16,
  u32,
  u64,
  u8,
} = wire;
type Close = wire.Close;

let fake: FakeBroker | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

interface Outcome {
  onError: Error[];
  pending: unknown;
  close: Close | undefined;
}

/**
 * Handshake, open channel 1, wait for the client's queue.declare, then run
 * `misbehave`; collect what onError got, how the pending declare ended and
 * the connection.close the client sent.
 */
async function scenario(misbehave: (c: ScriptedConnection) => Promise<void>, o: { frameMax?: number; maxBodySize?: number; consume?: boolean } = {}): Promise<Outcome> {
  let close: Close | undefined;
  fake = await FakeBroker.start({
    script: async (c) => {
      await c.handshake({ frameMax: o.frameMax ?? 131072 });
      await c.expectMethod(20, 10);
      await c.send(channelOpenOk(1));
      await c.expectMethod(50, 10);
      await misbehave(c);
      const f = await c.expectMethod(10, 50, { timeout: 3000 });
      close = parseClose(f);
      await c.send(connectionCloseOk());
    },
  });
  const onError: Error[] = [];
  const [t, p] = await connect({
    host: fake.host,
    port: fake.port,
    onError: (e) => void onError.push(e),
    ...(o.maxBodySize === undefined ? {} : { maxBodySize: o.maxBodySize }),
  });
  const ch = await p.channel();
  const pending = rejectionOf(ch.queueDeclare('q'));
  await p.waitClosed(5000);
  await fake.settled();
  const out = { onError, pending: await pending, close };
  t.close();
  return out;
}

function expectFrameError(out: Outcome, code: number, text: RegExp): void {
  expect(out.onError).toHaveLength(1);
  const err = out.onError[0] as FrameError;
  expect(err).toBeInstanceOf(FrameError);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(text);
  expect(out.pending).toBe(err);
  expect(out.close?.replyCode).toBe(code);
}

describe('bad bytes from the peer', () => {
  it('a wrong frame-end octet: 501', async () => {
    const out = await scenario((c) => c.send(frame(1, 1, Buffer.from([0, 50, 0, 11]), 0x00)));
    expectFrameError(out, 501, /frame-end/);
  });

  it('a heartbeat on a channel other than 0: 501', async () => {
    const out = await scenario((c) => c.send(frame(8, 1, Buffer.alloc(0))));
    expectFrameError(out, 501, /heartbeat/);
  });

  it('a frame larger than the negotiated frame-max is refused from its header: 501', async () => {
    // Only the header is sent: the size alone must be refused.
    const out = await scenario((c) => c.send(Buffer.concat([u8(3), u16(1), u32(0xfffffff0)])), { frameMax: 4096 });
    expectFrameError(out, 501, /frame-max/);
  });

  it('an unknown class/method: 503', async () => {
    const out = await scenario((c) => c.send(methodFrame(1, 99, 1)));
    expectFrameError(out, 503, /./);
  });

  it('undecodable fields (shortstr running past the frame): 501', async () => {
    const out = await scenario((c) => c.send(methodFrame(1, 50, 11, Buffer.from([200, 1, 2]))));
    expectFrameError(out, 501, /queue/);
  });

  it('a content header without a method: 505', async () => {
    const out = await scenario((c) => c.send(contentHeaderFrame(1, 60, 3)));
    expectFrameError(out, 505, /header/);
  });

  it('a body longer than its header said: 505', async () => {
    const out = await scenario(async (c) => {
      // basic.get-ok(delivery-tag 1, redelivered 0, exchange '', routing-key 'q', message-count 0)
      await c.send(
        Buffer.concat([
          methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)])),
          contentHeaderFrame(1, 60, 3),
          bodyFrame(1, 'toolong'),
        ]),
      );
    });
    expectFrameError(out, 505, /longer/);
  });

  it('a body over maxBodySize is refused from the header: 501', async () => {
    const out = await scenario(
      async (c) => {
        await c.send(
          Buffer.concat([
            methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)])),
            contentHeaderFrame(1, 60, 1024 * 1024),
          ]),
        );
      },
      { maxBodySize: 1000 },
    );
    expectFrameError(out, 501, /maxBodySize/);
  });

  it('a body size of 2^53 in a property-less header is refused like any longlong above 2^53-1: 501', async () => {
    const out = await scenario(
      async (c) => {
        await c.send(
          Buffer.concat([
            methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)])),
            contentHeaderFrame(1, 60, 2n ** 53n),
          ]),
        );
      },
      { maxBodySize: 2 ** 53 - 1 },
    );
    expectFrameError(out, 501, /body-size: longlong above 2\^53-1/);
  });

  it('a property-less header body size of 2^53-1 reaches the maxBodySize check exactly: 501', async () => {
    const out = await scenario(
      async (c) => {
        await c.send(
          Buffer.concat([
            methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)])),
            contentHeaderFrame(1, 60, 2 ** 53 - 1),
          ]),
        );
      },
      { maxBodySize: 2 ** 40 },
    );
    expectFrameError(out, 501, new RegExp(`body of ${2 ** 53 - 1} bytes exceeds maxBodySize ${2 ** 40}`));
  });

  it('a malformed basic.deliver is a decode error (501) even on a channel that is not open, as for other methods', async () => {
    const out = await scenario(async (c) => {
      await c.send(methodFrame(5, 60, 60, Buffer.concat([shortstr('tag'), u64(1)])));
    });
    expectFrameError(out, 501, /basic\.deliver\.redelivered/);
  });

  it('a delivery for a consumer tag the channel never had: 503', async () => {
    const out = await scenario(async (c) => {
      await c.send(
        Buffer.concat([
          methodFrame(1, 60, 60, Buffer.concat([shortstr('ghost'), u64(1), u8(0), shortstr(''), shortstr('q')])),
          contentHeaderFrame(1, 60, 0),
        ]),
      );
    });
    expectFrameError(out, 503, /ghost/);
  });

  it("a field table with an unknown type code ('Z'): 501, the connection ends", async () => {
    const entry = Buffer.concat([shortstr('k'), Buffer.from('Z'), u32(0)]);
    const table = Buffer.concat([u32(entry.length), entry]);
    const out = await scenario(async (c) => {
      await c.send(
        Buffer.concat([
          methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)])),
          frame(2, 1, Buffer.concat([u16(60), u16(0), u64(0), u16(0x2000), table])),
        ]),
      );
    });
    expectFrameError(out, 501, /unknown field-table type code 0x5a/);
  });

  it('a table nested deeper than 64 levels: 502', async () => {
    let t = Buffer.alloc(0);
    for (let i = 0; i < 70; i++) {
      const entry = Buffer.concat([shortstr('n'), Buffer.from('F'), u32(t.length), t]);
      t = entry;
    }
    const table = Buffer.concat([u32(t.length), t]);
    // queue.declare-ok cannot carry a table; a channel.close? No: use basic.get-ok's header properties (headers flag).
    const out = await scenario(async (c) => {
      await c.send(
        Buffer.concat([
          methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)])),
          frame(2, 1, Buffer.concat([u16(60), u16(0), u64(0), u16(0x2000), table])),
        ]),
      );
    });
    expectFrameError(out, 502, /nested/);
  });

  it('a reply that answers no pending call: SynchronizationError, connection closed with 503', async () => {
    const out = await scenario((c) => c.send(methodFrame(1, 60, 11))); // basic.qos-ok while queue.declare waits
    expect(out.onError).toHaveLength(1);
    const err = out.onError[0] as SynchronizationError;
    expect(err).toBeInstanceOf(SynchronizationError);
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err.code).toBe(503);
    expect(out.pending).toBe(err);
    expect(out.close?.replyCode).toBe(503);
  });

  it('a frame for a channel that is not open: 504', async () => {
    const out = await scenario((c) => c.send(methodFrame(7, 20, 41)));
    expectFrameError(out, 504, /channel 7/);
  });
});

describe('the server side of the connection', () => {
  it('a server connection.close is answered with close-ok and reported once with its code', async () => {
    let gotCloseOk = false;
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.handshake();
        await c.expectMethod(20, 10);
        await c.send(channelOpenOk(1));
        await c.expectMethod(50, 10);
        await c.send(connectionClose(320, 'CONNECTION_FORCED - shutdown', 0, 0));
        await c.expectMethod(10, 51);
        gotCloseOk = true;
      },
    });
    const errors: Error[] = [];
    const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void errors.push(e) });
    const ch = await p.channel();
    const err = await rejectionOf(ch.queueDeclare('q'));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(320);
    expect((err as AmqpClosedConnection).replyText).toBe('CONNECTION_FORCED - shutdown');
    await fake.settled();
    expect(gotCloseOk).toBe(true);
    expect(errors).toEqual([err]);
    expect(p.state).toBe('closed');
    t.close();
  });

  it('missed heartbeats end the connection within 2h + 1 s with AmqpClosedConnection code 0', async () => {
    let heartbeatsFromClient = 0;
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.handshake({ heartbeat: 1 });
        // Say nothing, but count the client's heartbeats.
        for (;;) {
          const f = await c.nextFrame({ timeout: 5000 }).catch(() => null);
          if (f === null) return;
          if (f.type === 8) heartbeatsFromClient++;
        }
      },
    });
    const errors: Error[] = [];
    const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void errors.push(e) });
    expect(p.serverHeartbeat).toBe(1);
    const t0 = Date.now();
    await p.waitClosed(4000);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThanOrEqual(3100);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AmqpClosedConnection);
    expect((errors[0] as AmqpClosedConnection).code).toBe(0);
    expect(errors[0]!.message).toMatch(/heartbeat/);
    expect(heartbeatsFromClient).toBeGreaterThanOrEqual(2);
    t.close();
  });

  it('heartbeats from the server keep an idle connection alive', async () => {
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.handshake({ heartbeat: 1 });
        for (let i = 0; i < 8; i++) {
          await sleep(400);
          if (c.isClosed) return;
          await c.send(heartbeatFrame());
        }
      },
    });
    const errors: Error[] = [];
    const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void errors.push(e) });
    await sleep(3000);
    expect(p.state).toBe('open');
    expect(errors).toEqual([]);
    await p.close({ timeout: 100 });
    t.close();
  });

  it('connection.blocked / unblocked emit events, set `blocked`, and hold publishes until unblocked', async () => {
    const order: string[] = [];
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.handshake();
        await c.expectMethod(20, 10);
        await c.send(channelOpenOk(1));
        await c.send(methodFrame(0, 10, 60, shortstr('low on memory')));
        await sleep(200);
        order.push('unblock');
        await c.send(methodFrame(0, 10, 61));
        const f = await c.expectMethod(60, 40);
        order.push(`publish on ${f.channel}`);
        expect((await c.nextFrame()).type).toBe(2); // its content header (empty body: no body frame)
        await c.expectMethod(10, 50);
        await c.send(connectionCloseOk());
      },
    });
    const [t, p] = await connect({ host: fake.host, port: fake.port });
    const events: string[] = [];
    p.on('blocked', (reason) => events.push(`blocked:${reason}`));
    p.on('unblocked', () => events.push('unblocked'));
    const ch = await p.channel();
    await waitFor(() => p.blocked !== null);
    expect(p.blocked).toBe('low on memory');
    let published = false;
    const pub = ch.publish('', '', 'q').then(() => (published = true));
    await sleep(50);
    expect(published).toBe(false);
    await pub;
    expect(p.blocked).toBeNull();
    expect(events).toEqual(['blocked:low on memory', 'unblocked']);
    await p.close();
    await fake.settled();
    expect(order).toEqual(['unblock', 'publish on 1']);
    t.close();
  });

  it('assembles content with frames of other channels interleaved, and answers a server channel.flow', async () => {
    const deliver = (ch: number, tag: string, dtag: number): Buffer =>
      methodFrame(ch, 60, 60, Buffer.concat([shortstr(tag), u64(dtag), u8(0), shortstr('ex'), shortstr('rk')]));
    let flowOk: boolean | undefined;
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.handshake({ frameMax: 4096 });
        for (const ch of [1, 2]) {
          await c.expectMethod(20, 10);
          await c.send(channelOpenOk(ch));
        }
        for (const ch of [1, 2]) {
          const f = await c.expectMethod(60, 20);
          // basic.consume: reserved short, queue shortstr, consumer-tag shortstr, ...
          const queueLen = f.args[2]!;
          const tagLen = f.args[3 + queueLen]!;
          const consumerTag = f.args.subarray(4 + queueLen, 4 + queueLen + tagLen).toString();
          await c.send(methodFrame(ch, 60, 21, shortstr(consumerTag)));
          (c as unknown as Record<string, string>)[`tag${ch}`] = consumerTag;
        }
        const t1 = (c as unknown as Record<string, string>)['tag1']!;
        const t2 = (c as unknown as Record<string, string>)['tag2']!;
        await c.send(
          Buffer.concat([
            deliver(1, t1, 1),
            contentHeaderFrame(1, 60, 6),
            bodyFrame(1, 'aaa'),
            deliver(2, t2, 1),
            contentHeaderFrame(2, 60, 2),
            heartbeatFrame(),
            bodyFrame(1, 'bbb'),
            bodyFrame(2, 'cc'),
            methodFrame(1, 20, 20, u8(0)), // channel.flow active=false
          ]),
        );
        const ok = await c.expectMethod(20, 21);
        flowOk = ok.args[0] === 1;
        await c.expectMethod(10, 50);
        await c.send(connectionCloseOk());
      },
    });
    const [t, p] = await connect({ host: fake.host, port: fake.port });
    const got: string[] = [];
    const ch1 = await p.channel();
    const ch2 = await p.channel();
    await ch1.basicConsume((_c, b, e) => void got.push(`1:${b.toString()}:${e.routingKey}`), { queueName: 'q1' });
    await ch2.basicConsume((_c, b) => void got.push(`2:${b.toString()}`), { queueName: 'q2' });
    await waitFor(() => got.length === 2 && flowOk !== undefined);
    expect(got).toEqual(['1:aaabbb:rk', '2:cc']);
    expect(flowOk).toBe(false);
    expect(ch1.flowActive).toBe(false);
    await p.close();
    await fake.settled();
    t.close();
  });

  it('insist and the vhost are sent in connection.open; a longstr secure challenge is answered', async () => {
    let open: { virtualhost: string; insist: boolean } | undefined;
    let secureOk = false;
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.send(
          methodFrame(0, 10, 10, Buffer.concat([u8(0), u8(9), u32(0), longstr('PLAIN'), longstr('en_US')])),
        );
        await c.expectMethod(10, 11);
        await c.send(methodFrame(0, 10, 20, longstr('challenge')));
        await c.expectMethod(10, 21);
        secureOk = true;
        await c.send(methodFrame(0, 10, 30, Buffer.concat([u16(0), u32(0), u16(0)])));
        await c.expectMethod(10, 31);
        open = parseOpen(await c.expectMethod(10, 40));
        await c.send(methodFrame(0, 10, 41, shortstr('')));
        await c.expectMethod(10, 50);
        await c.send(connectionCloseOk());
      },
    });
    const [t, p] = await connect({ host: fake.host, port: fake.port, virtualhost: 'v/h', insist: true });
    await p.close();
    await fake.settled();
    expect(secureOk).toBe(true);
    expect(open).toEqual({ virtualhost: 'v/h', insist: true });
    expect(p.serverChannelMax).toBe(0);
    t.close();
  });
});
