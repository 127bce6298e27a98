// FrameParser and FrameWriter on their own: no socket, no broker.
import { describe, expect, it } from 'vitest';
import { FrameParser } from '../../../src/framing/frame-parser.js';
import { FrameWriter } from '../../../src/framing/frame-writer.js';
import { writeContent } from '../../../src/framing/publish-frames.js';
import { FrameError } from '../../../src/errors.js';
import { encodeBasicPublish } from '../../../generated/index.js';

interface Seen {
  type: number;
  channel: number;
  payload: Buffer;
  inPlace: boolean;
}

function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const h = Buffer.alloc(7);
  h[0] = type;
  h.writeUInt16BE(channel, 1);
  h.writeUInt32BE(payload.length, 3);
  return Buffer.concat([h, payload, Buffer.from([end])]);
}

function parserFor(seen: Seen[], chunkRef: { chunk: Buffer | null }): FrameParser {
  return new FrameParser((type, channel, buf, start, end) => {
    seen.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)), inPlace: buf === chunkRef.chunk });
  });
}

describe('FrameParser', () => {
  const stream = Buffer.concat([
    frame(1, 0, Buffer.from([0, 10, 0, 41, 0])),
    frame(8, 0, Buffer.alloc(0)),
    frame(2, 3, Buffer.alloc(14, 1)),
    frame(3, 3, Buffer.from('hello body')),
  ]);

  it('parses frames split at every possible position, in order', () => {
    for (let cut1 = 0; cut1 <= stream.length; cut1++) {
      for (let cut2 = cut1; cut2 <= stream.length; cut2 += 3) {
        const seen: Seen[] = [];
        const ref = { chunk: null as Buffer | null };
        const p = parserFor(seen, ref);
        for (const part of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
          ref.chunk = part;
          p.push(part);
        }
        expect(seen.map((f) => [f.type, f.channel, f.payload.toString('hex')])).toEqual([
          [1, 0, '000a002900'],
          [8, 0, ''],
          [2, 3, '01'.repeat(14)],
          [3, 3, Buffer.from('hello body').toString('hex')],
        ]);
      }
    }
  });

  it('hands over a frame that lies in one chunk in place (no copy)', () => {
    const seen: Seen[] = [];
    const ref = { chunk: stream as Buffer | null };
    parserFor(seen, ref).push(stream);
    expect(seen.every((f) => f.inPlace)).toBe(true);
  });

  it('refuses a frame over frame-max from its header alone, before allocating', () => {
    const p = new FrameParser(() => undefined);
    p.maxPayload = 4088;
    const header = Buffer.from([3, 0, 1, 0xff, 0xff, 0xff, 0xf0]);
    expect(() => p.push(header)).toThrow(FrameError);
  });

  it('accepts exactly frame-max − 8 bytes of payload and refuses one more', () => {
    const ok = new FrameParser(() => undefined);
    ok.maxPayload = 4088;
    ok.push(frame(3, 1, Buffer.alloc(4088)));
    const bad = new FrameParser(() => undefined);
    bad.maxPayload = 4088;
    expect(() => bad.push(frame(3, 1, Buffer.alloc(4089)))).toThrow(/frame-max/);
  });

  it('refuses a bad frame-end, an unknown frame type, and heartbeats off channel 0 with FrameError 501', () => {
    const cases = [frame(1, 0, Buffer.from([0, 10, 0, 41, 0]), 0), frame(9, 0, Buffer.alloc(0)), frame(8, 2, Buffer.alloc(0))];
    for (const c of cases) {
      const p = new FrameParser(() => undefined);
      let err: unknown;
      try {
        p.push(c);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FrameError);
      expect((err as FrameError).code).toBe(501);
    }
  });
});

describe('FrameWriter', () => {
  it('coalesces frames written in one turn into one write, and splits bodies at frame-max − 8', async () => {
    const writes: Uint8Array[][] = [];
    const fw = new FrameWriter((chunks) => {
      writes.push(chunks);
      return true;
    });
    fw.maxPayload = 4088;
    for (let i = 0; i < 3; i++) {
      const mark = fw.method(1);
      encodeBasicPublish(fw.w, { exchange: '', routingKey: 'q', mandatory: false, immediate: false });
      fw.end(mark);
      writeContent(fw, 1, { contentType: 'text/plain' }, Buffer.alloc(10_000, i));
    }
    await fw.whenWritten();
    expect(writes).toHaveLength(1);
    const all = Buffer.concat(writes[0]!);
    // Re-parse what was written.
    const frames: { type: number; size: number }[] = [];
    const p = new FrameParser((type, _c, _b, start, end) => frames.push({ type, size: end - start }));
    p.maxPayload = 4088;
    p.push(all);
    const one = [1, 2, 3, 3, 3];
    expect(frames.map((f) => f.type)).toEqual([...one, ...one, ...one]);
    expect(frames.filter((f) => f.type === 3).map((f) => f.size)).toEqual([4088, 4088, 1824, 4088, 4088, 1824, 4088, 4088, 1824]);
  });

  it('sends an empty body as a header only, and large body slices without copying them', async () => {
    const writes: Uint8Array[][] = [];
    const fw = new FrameWriter((chunks) => {
      writes.push(chunks);
      return true;
    });
    fw.maxPayload = 131064;
    writeContent(fw, 1, undefined, Buffer.alloc(0));
    const big = Buffer.alloc(200_000, 9);
    writeContent(fw, 1, undefined, big);
    await fw.whenWritten();
    const chunks = writes[0]!;
    expect(chunks.some((c) => c.buffer === big.buffer && c.length === 131064)).toBe(true);
    const frames: number[] = [];
    const p = new FrameParser((type) => frames.push(type));
    p.maxPayload = 131064;
    p.push(Buffer.concat(chunks));
    expect(frames).toEqual([2, 2, 3, 3]);
  });

  it('rolls back a frame whose encoder throws, and rejects waiters once failed', async () => {
    const writes: Uint8Array[][] = [];
    const fw = new FrameWriter((chunks) => {
      writes.push(chunks);
      return true;
    });
    const mark = fw.method(1);
    expect(() => encodeBasicPublish(fw.w, { exchange: 'x'.repeat(300), routingKey: '', mandatory: false, immediate: false })).toThrow(TypeError);
    fw.rollback(mark);
    fw.heartbeat();
    await fw.whenWritten();
    expect(Buffer.concat(writes[0]!).toString('hex')).toBe('0800000000000' + '0ce');
    const err = new Error('gone');
    fw.heartbeat();
    const waiting = fw.whenWritten();
    fw.fail(err);
    await expect(waiting).rejects.toBe(err);
    await expect(fw.whenWritten()).rejects.toBe(err);
  });
});
