// Scenario 6: bad bytes from the server (a scripted FakeBroker: a real
// broker never sends these). Each case ends in FrameError (or, when the
// socket just stops, AmqpClosedConnection), reported once to onError and
// to every pending call and unsettled confirmed publish; the client sends
// connection.close with the spec's code while it still can; the process
// survives and no handle is left.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, FrameError, connect } from '../../src/index.js';
import { FakeBroker, wire, type ScriptedConnection } from '../../src/testing/index.js';
import { track, turns } from '../support/async.js';
import { startLeakCheck, type LeakCheck } from '../support/leaks.js';

const { bodyFrame, channelOpenOk, connectionCloseOk, contentHeaderFrame, frame, methodFrame, parseClose, shortstr, u16, u32, u64, u8 } = wire;
type Close = wire.Close;

let fake: FakeBroker | undefined;
let leaks: LeakCheck | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  leaks?.stop();
  leaks = undefined;
});

const getOk = (): Buffer => methodFrame(1, 60, 71, Buffer.concat([u64(1), u8(0), shortstr(''), shortstr('q'), u32(0)]));

interface Case {
  name: string;
  send: (c: ScriptedConnection) => Promise<void>;
  /** The reply code of the error and of the client's connection.close; null: no close expected (socket gone). */
  code: number | null;
  errorClass: abstract new (...args: never[]) => AmqpClosedConnection;
  text: RegExp;
  frameMax?: number;
}

const CASES: Case[] = [
  { name: 'a wrong frame-end', send: (c) => c.send(frame(1, 1, Buffer.from([0, 50, 0, 11]), 0x41)), code: 501, errorClass: FrameError, text: /frame-end/ },
  {
    name: 'a frame larger than the negotiated frame-max (refused from its header)',
    send: (c) => c.send(Buffer.concat([u8(1), u16(1), u32(8000)])),
    code: 501,
    errorClass: FrameError,
    text: /frame-max/,
    frameMax: 4096,
  },
  { name: 'an unknown class/method', send: (c) => c.send(methodFrame(1, 77, 7)), code: 503, errorClass: FrameError, text: /./ },
  { name: 'an unknown frame type', send: (c) => c.send(frame(5, 1, Buffer.alloc(3))), code: 501, errorClass: FrameError, text: /frame type/ },
  { name: 'a content header without a method', send: (c) => c.send(contentHeaderFrame(1, 60, 10)), code: 505, errorClass: FrameError, text: /header/ },
  {
    name: 'a body longer than the header said',
    send: (c) => c.send(Buffer.concat([getOk(), contentHeaderFrame(1, 60, 4), bodyFrame(1, 'abc'), bodyFrame(1, 'de')])),
    code: 505,
    errorClass: FrameError,
    text: /longer/,
  },
  {
    name: 'a body frame with no content expected',
    send: (c) => c.send(bodyFrame(1, 'stray')),
    code: 505,
    errorClass: FrameError,
    text: /body/,
  },
  {
    name: 'a method while a body is expected',
    send: (c) => c.send(Buffer.concat([getOk(), contentHeaderFrame(1, 60, 4), methodFrame(1, 50, 11, Buffer.concat([shortstr('q'), u32(0), u32(0)]))])),
    code: 505,
    errorClass: FrameError,
    text: /body/,
  },
  {
    name: 'a truncated frame, then the server closes the socket',
    send: async (c) => {
      await c.send(methodFrame(1, 50, 11, Buffer.concat([shortstr('q'), u32(0), u32(0)])).subarray(0, 9));
      c.end();
    },
    code: null,
    errorClass: AmqpClosedConnection,
    text: /closed unexpectedly/,
  },
];

/** Handshake, open channels 1 and 2, answer confirm.select on 2, read 3 publishes, wait for a declare on 1, misbehave, read the close. */
async function run(k: Case): Promise<void> {
  leaks = startLeakCheck();
  let close: Close | undefined;
  let socketEnded = false;
  fake = await FakeBroker.start({
    script: async (c) => {
      await c.handshake({ frameMax: k.frameMax ?? 131072 });
      for (const ch of [1, 2]) {
        await c.expectMethod(20, 10);
        await c.send(channelOpenOk(ch));
      }
      await c.expectMethod(85, 10);
      await c.send(methodFrame(2, 85, 11));
      // 3 publishes (method, header, one body frame each), then the declare on channel 1.
      for (;;) {
        const f = await c.nextFrame({ skipHeartbeats: true });
        if (f.type === 1 && f.classId === 50 && f.methodId === 10) break;
      }
      await k.send(c);
      if (k.code === null) {
        socketEnded = (await c.closed) !== undefined;
        return;
      }
      close = parseClose(await c.expectMethod(10, 50, { timeout: 3000 }));
      await c.send(connectionCloseOk());
      await c.closed;
    },
  });
  const onError: Error[] = [];
  const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void onError.push(e) });
  const ch1 = await p.channel();
  const ch2 = await p.channel();
  await ch2.confirmSelect();
  const publishes = [1, 2, 3].map((i) => track(ch2.publish(`m${i}`, '', 'q')));
  const declare = track(ch1.queueDeclare('q'));
  await p.waitClosed(5000);
  await Promise.all([declare.done, ...publishes.map((x) => x.done)]);
  await fake.settled();
  await turns();

  expect(onError).toHaveLength(1);
  const err = onError[0] as AmqpClosedConnection;
  expect(err.constructor).toBe(k.errorClass);
  expect(err.code).toBe(k.code ?? 0);
  expect(err.message).toMatch(k.text);
  expect(p.closeError).toBe(err);
  for (const x of [declare, ...publishes]) expect(x.outcome).toEqual({ state: 'rejected', error: err });
  if (k.code === null) expect(socketEnded).toBe(true);
  else expect(close?.replyCode).toBe(k.code);

  t.close();
  await fake.close();
  fake = undefined;
  expect(onError).toHaveLength(1);
  await leaks.assertClean();
}

describe('scenario 6: bad bytes from the server', () => {
  for (const k of CASES) it(k.name, () => run(k), 15_000);
});

describe('scenario 6: a non-AMQP answer to the protocol header', () => {
  const answers: [string, Buffer][] = [
    ['an HTTP response', Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')],
    ["AMQP 1.0's protocol header", Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0])],
    ["AMQP 1.0's SASL header", Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0])],
    ['a line of text and silence', Buffer.from('220 smtp.example.com ESMTP ready\r\n')],
  ];
  for (const [name, bytes] of answers) {
    it(`${name}: connect rejects with FrameError, onError silent, no handle left`, async () => {
      leaks = startLeakCheck();
      fake = await FakeBroker.start({
        script: async (c) => {
          await c.send(bytes);
          await c.closed;
        },
      });
      const onError: Error[] = [];
      const t0 = Date.now();
      const err = await connect({ host: fake.host, port: fake.port, connectTimeout: 5000, onError: (e) => void onError.push(e) }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(Date.now() - t0).toBeLessThan(2000); // found from the bytes, not by the timeout
      expect(err).toBeInstanceOf(FrameError);
      expect(err).toBeInstanceOf(AmqpClosedConnection);
      expect(onError).toEqual([]);
      await fake.close();
      fake = undefined;
      await leaks.assertClean();
    });
  }
});

describe('scenario 6: a connection.tune below the spec minimum frame-max (found by the fuzz campaign)', () => {
  // AMQP 0-9-1 (connection.tune, frame-max): "the minimum negotiated value for frame-max is
  // also frame-min-size" (4096). A server proposing less breaks the protocol: connect must
  // reject with a FrameError carrying a spec reply code (RabbitMQ answers the mirror case, a
  // client's tune-ok below 4096, with 530 NOT_ALLOWED), never an internal error (541) and
  // never a connection whose own frames do not fit.
  for (const frameMax of [15, 4, 100, 4095]) {
    it(`frame-max ${frameMax}: connect rejects with FrameError (a spec code, not 541), no handle left`, async () => {
      leaks = startLeakCheck();
      fake = await FakeBroker.start({
        script: async (c) => {
          await c.handshake({ frameMax }).catch(() => undefined);
          await c.closed;
        },
      });
      const onError: Error[] = [];
      const err = await connect({ host: fake.host, port: fake.port, connectTimeout: 3000, onError: (e) => void onError.push(e) }).then(
        ([t]) => {
          t.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err, 'connected with a frame-max below 4096').not.toBeNull();
      expect(err).toBeInstanceOf(FrameError);
      expect([501, 503, 530]).toContain((err as FrameError).code);
      expect((err as FrameError).message).toMatch(/frame-max/);
      expect(onError).toEqual([]);
      await fake.close();
      fake = undefined;
      await leaks.assertClean();
    });
  }
});

describe('scenario 6: close timing after bad bytes', () => {
  it('a server that never answers the close: the client destroys its socket about 1 s after sending close (501)', async () => {
    leaks = startLeakCheck();
    let sentCloseAt = 0;
    let socketGoneAt = 0;
    let code = 0;
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.handshake();
        await c.send(frame(1, 0, Buffer.from([0, 10, 0, 61]), 0x00)); // bad frame-end
        code = parseClose(await c.expectMethod(10, 50)).replyCode;
        sentCloseAt = Date.now();
        await c.closed; // never answer
        socketGoneAt = Date.now();
      },
    });
    const onError: Error[] = [];
    const [t, p] = await connect({ host: fake.host, port: fake.port, onError: (e) => void onError.push(e) });
    await p.waitClosed(3000);
    await fake.settled();
    expect(code).toBe(501);
    expect(onError).toHaveLength(1);
    expect(onError[0]).toBeInstanceOf(FrameError);
    const linger = socketGoneAt - sentCloseAt;
    expect(linger).toBeGreaterThanOrEqual(800);
    expect(linger).toBeLessThanOrEqual(1500);
    t.close();
    await fake.close();
    fake = undefined;
    await leaks.assertClean();
  });
});

describe('scenario 6: an onError that throws or rejects', () => {
  for (const kind of ['throws', 'rejects'] as const) {
    it(`onError ${kind}: the process survives (no uncaught exception, no unhandled rejection), the end is still clean`, async () => {
      leaks = startLeakCheck();
      fake = await FakeBroker.start({
        script: async (c) => {
          await c.handshake();
          await c.send(frame(1, 0, Buffer.from([0, 10, 0, 61]), 0x00));
          await c.expectMethod(10, 50);
          await c.send(connectionCloseOk());
          await c.closed;
        },
      });
      let calls = 0;
      const onError = (): Promise<void> => {
        calls++;
        if (kind === 'throws') throw new Error('onError blew up');
        return Promise.reject(new Error('onError rejected'));
      };
      const [t, p] = await connect({ host: fake.host, port: fake.port, onError });
      await p.waitClosed(3000);
      await turns(5);
      expect(calls).toBe(1);
      expect(p.closeError).toBeInstanceOf(FrameError);
      expect(p.closeError?.code).toBe(501);
      t.close();
      await fake.close();
      fake = undefined;
      await leaks.assertClean();
      // setup.ts fails this test by itself on any unhandled rejection / uncaught exception.
    });
  }
});
