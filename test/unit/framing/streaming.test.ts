// Body frames split across socket chunks are streamed into the channel's
// ContentAssembler (FrameParser's onBodyStart hook), so each body byte is
// copied once, into the message buffer; a body frame that arrives whole is
// still handed over as a view. Wired here as the connection wires them.
import { describe, expect, it } from 'vitest';
import { FrameParser } from '../../../src/framing/frame-parser.js';
import { ContentAssembler } from '../../../src/framing/content.js';
import { decodeDeliver } from '../../../src/framing/inbound.js';
import { FrameError } from '../../../src/errors.js';
import { Reader } from '../../../src/wire/index.js';
import { BASIC_DELIVER, decodeBasicProperties } from '../../../generated/index.js';

function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const h = Buffer.alloc(7);
  h[0] = type;
  h.writeUInt16BE(channel, 1);
  h.writeUInt32BE(payload.length, 3);
  return Buffer.concat([h, payload, Buffer.from([end])]);
}

function shortstr(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function deliverFrame(channel: number, tag: string, deliveryTag: number | bigint): Buffer {
  const dt = Buffer.alloc(8);
  dt.writeBigUInt64BE(BigInt(deliveryTag));
  const id = Buffer.alloc(4);
  id.writeUInt32BE(BASIC_DELIVER);
  return frame(1, channel, Buffer.concat([id, shortstr(tag), dt, Buffer.from([0]), shortstr('ex'), shortstr('rk')]));
}

function headerFrame(channel: number, size: number, classId = 60): Buffer {
  const p = Buffer.alloc(14);
  p.writeUInt16BE(classId, 0);
  p.writeUInt32BE(size, 8);
  return frame(2, channel, p);
}

/** The message's body frames, `frameMax` payload bytes at most each. */
function bodyFrames(channel: number, body: Buffer, frameMax: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += frameMax) out.push(frame(3, channel, body.subarray(i, i + frameMax)));
  return out;
}

interface Got {
  channel: number;
  consumerTag: string;
  deliveryTag: number;
  body: Buffer;
}

function harness(maxPayload: number) {
  const got: Got[] = [];
  const wholeBodyFrames: Buffer[] = [];
  const streamed: number[] = [];
  const assemblers = new Map<number, ContentAssembler>();
  const asm = (ch: number): ContentAssembler => {
    let a = assemblers.get(ch);
    if (a === undefined) {
      a = new ContentAssembler(ch, {
        onContent: () => {
          throw new Error('only deliveries here');
        },
        onDelivery: (e, _p, body) => got.push({ channel: ch, consumerTag: e.consumerTag, deliveryTag: e.deliveryTag, body }),
      });
      assemblers.set(ch, a);
    }
    return a;
  };
  const parser = new FrameParser(
    (type, ch, buf, start, end) => {
      if (type === 1) {
        asm(ch).startDelivery(decodeDeliver(new Reader(buf, start + 4, end)));
      } else if (type === 2) {
        const r = new Reader(buf, start, end);
        const classId = r.u16('class');
        r.u16('weight');
        const size = r.u64('size');
        asm(ch).header(classId, size, decodeBasicProperties(r));
      } else if (type === 3) {
        wholeBodyFrames.push(buf);
        asm(ch).bodyFrame(buf, start, end);
      }
    },
    (ch, size) => {
      streamed.push(size);
      const a = asm(ch);
      a.bodyStart(size);
      return a;
    },
  );
  parser.maxPayload = maxPayload;
  return { parser, got, streamed, wholeBodyFrames };
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

describe('streamed body frames', () => {
  const FRAME_MAX = 600;
  const body1 = pattern(1500, 1); // 3 frames: 600 + 600 + 300
  const body2 = pattern(900, 2); // 2 frames: 600 + 300
  const b1 = bodyFrames(1, body1, FRAME_MAX);
  const b2 = bodyFrames(2, body2, FRAME_MAX);
  // Channels 1 and 2 interleaved frame by frame.
  const stream = Buffer.concat([
    deliverFrame(1, 'c1', 1),
    deliverFrame(2, 'c2', 1),
    headerFrame(1, body1.length),
    b1[0]!,
    headerFrame(2, body2.length),
    b2[0]!,
    b1[1]!,
    b2[1]!,
    b1[2]!,
    deliverFrame(1, 'c1', 2),
    headerFrame(1, 20),
    frame(3, 1, pattern(20, 3)),
  ]);
  const expected = [
    { channel: 2, consumerTag: 'c2', deliveryTag: 1, body: body2.toString('hex') },
    { channel: 1, consumerTag: 'c1', deliveryTag: 1, body: body1.toString('hex') },
    { channel: 1, consumerTag: 'c1', deliveryTag: 2, body: pattern(20, 3).toString('hex') },
  ];
  const view = (g: Got[]) => g.map((x) => ({ ...x, body: x.body.toString('hex') }));

  it('assembles interleaved channels with chunk boundaries at every offset (two and three chunks)', () => {
    for (let cut1 = 0; cut1 <= stream.length; cut1++) {
      for (let cut2 = cut1; cut2 <= stream.length; cut2 += cut1 % 2 === 0 ? 97 : stream.length + 1) {
        const h = harness(FRAME_MAX);
        for (const part of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
          h.parser.push(Buffer.from(part)); // a chunk of its own, as from a socket
        }
        expect(view(h.got)).toEqual(expected);
        // Every body frame went either whole (in place) or streamed, never both.
        expect(h.wholeBodyFrames.length + h.streamed.length).toBe(6);
      }
    }
  });

  it('one byte per chunk: everything streams and still assembles', () => {
    const h = harness(FRAME_MAX);
    for (let i = 0; i < stream.length; i++) h.parser.push(Buffer.from([stream[i]!]));
    expect(view(h.got)).toEqual(expected);
    expect(h.streamed).toEqual([600, 600, 600, 300, 300, 20]);
  });

  it('copies a streamed body once, into a buffer of exactly its size; a whole single frame stays a view', () => {
    const big = pattern(10_000, 5);
    const h = harness(131_064);
    const s = Buffer.concat([deliverFrame(1, 'c', 1), headerFrame(1, big.length), frame(3, 1, big)]);
    h.parser.push(Buffer.from(s.subarray(0, 5000)));
    h.parser.push(Buffer.from(s.subarray(5000)));
    expect(h.got).toHaveLength(1);
    expect(h.got[0]!.body.equals(big)).toBe(true);
    expect(h.got[0]!.body.byteOffset).toBe(0);
    expect(h.got[0]!.body.buffer.byteLength).toBe(big.length); // the message buffer itself, no frame copy
    expect(h.streamed).toEqual([big.length]);

    const h2 = harness(131_064);
    const whole = Buffer.from(s);
    h2.parser.push(whole);
    expect(h2.got[0]!.body.equals(big)).toBe(true);
    expect(h2.got[0]!.body.buffer).toBe(whole.buffer); // a view of the chunk
    expect(h2.streamed).toEqual([]);
  });

  it('checks the frame-end octet when it arrives, before the message completes', () => {
    const body = pattern(300, 9);
    const s = Buffer.concat([deliverFrame(1, 'c', 1), headerFrame(1, body.length), frame(3, 1, body, 0xab)]);
    for (const cut of [s.length - 1, s.length - 150, s.length - 301]) {
      const h = harness(FRAME_MAX);
      h.parser.push(Buffer.from(s.subarray(0, cut)));
      expect(h.got).toHaveLength(0);
      expect(() => h.parser.push(Buffer.from(s.subarray(cut)))).toThrow(/frame-end octet 0xab/);
      expect(h.got).toHaveLength(0);
    }
  });

  it('a streamed body longer than its header announced is FrameError 505, from the frame header alone', () => {
    const s = Buffer.concat([deliverFrame(1, 'c', 1), headerFrame(1, 100), frame(3, 1, pattern(150, 1))]);
    const h = harness(FRAME_MAX);
    const headerEnd = s.length - 150 - 1;
    let err: unknown;
    try {
      h.parser.push(Buffer.from(s.subarray(0, headerEnd + 10))); // payload incomplete
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe(505);
    expect((err as FrameError).message).toMatch(/longer than the 100 bytes/);
    expect(h.got).toHaveLength(0);
  });

  it('a second streamed frame overrunning the announced size is 505 too', () => {
    const s = Buffer.concat([deliverFrame(1, 'c', 1), headerFrame(1, 700), frame(3, 1, pattern(600, 1)), frame(3, 1, pattern(200, 1))]);
    const h = harness(FRAME_MAX);
    // The second frame's payload is incomplete: refused from its frame header.
    expect(() => h.parser.push(Buffer.from(s.subarray(0, s.length - 50)))).toThrow(/longer than the 700 bytes/);
    expect(h.got).toHaveLength(0);
  });

  it('a streamed body frame without a content header is 505', () => {
    const s = Buffer.concat([deliverFrame(1, 'c', 1), frame(3, 1, pattern(300, 1))]);
    const h = harness(FRAME_MAX);
    expect(() => h.parser.push(Buffer.from(s.subarray(0, s.length - 100)))).toThrow(/content body without a content header/);
  });

  it('still refuses a body frame over frame-max from its header alone', () => {
    const s = Buffer.concat([deliverFrame(1, 'c', 1), headerFrame(1, 5000), frame(3, 1, pattern(700, 1))]);
    const h = harness(FRAME_MAX);
    expect(() => h.parser.push(Buffer.from(s.subarray(0, s.length - 600)))).toThrow(/exceeds frame-max/);
    expect(h.streamed).toEqual([]);
  });

  it('decodes delivery tags up to 2^53-1 and refuses 2^53 and above like the generated decoder', () => {
    for (const tag of [1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, 2 ** 53 - 1]) {
      const f = deliverFrame(1, 'c', tag);
      expect(decodeDeliver(new Reader(f, 11, f.length - 1)).deliveryTag).toBe(tag);
    }
    for (const tag of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
      const f = deliverFrame(1, 'c', tag);
      expect(() => decodeDeliver(new Reader(f, 11, f.length - 1))).toThrow(/delivery-tag: longlong above 2\^53-1/);
    }
    // Truncated right inside the tag: the reader's own error.
    const f = deliverFrame(1, 'c', 7);
    expect(() => decodeDeliver(new Reader(f, 11, 11 + 2 + 5))).toThrow(/delivery-tag: longlong of 8 bytes runs past/);
  });
});
