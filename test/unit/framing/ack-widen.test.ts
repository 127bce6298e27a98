// In-order acks share one frame: UnackedTags says which tag is the oldest
// outstanding, AckFrames.widen rewrites the unsent ack in place. Both
// must refuse whenever widening would settle something the separate acks
// would not have.

import { describe, expect, it } from 'vitest';
import { encodeBasicAck, encodeBasicQos } from '../../../generated/index.js';
import { FrameWriter } from '../../../src/framing/frame-writer.js';
import { AckFrames } from '../../../src/framing/ack-frames.js';
import { writePublish } from '../../../src/framing/publish-frames.js';
import { UnackedTags } from '../../../src/unacked.js';
import { Writer } from '../../../src/wire/index.js';

/** A writer whose flushes are collected into `out`. */
function writer(): { fw: FrameWriter; acks: AckFrames; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  const fw = new FrameWriter((chunks) => {
    out.push(...chunks);
    return true;
  });
  fw.maxPayload = 4088;
  return { fw, acks: new AckFrames(fw), out };
}

/** The bytes of one basic.ack frame, encoded from scratch. */
function ackFrame(channel: number, tag: number, multiple: boolean): Buffer {
  const w = new Writer(64);
  w.u8(1);
  w.u16(channel);
  w.u32(0);
  const start = w.pos;
  encodeBasicAck(w, { deliveryTag: tag, multiple });
  w.buf.writeUInt32BE(w.pos - start, 3);
  w.u8(0xce);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

describe('UnackedTags', () => {
  it('tracks the oldest outstanding tag through in-order and out-of-order settlement', () => {
    const u = new UnackedTags();
    expect(u.oldest()).toBe(0);
    for (let t = 1; t <= 6; t++) u.push(t);
    expect(u.oldest()).toBe(1);
    u.shift();
    u.settle(3); // out of order
    expect(u.oldest()).toBe(2);
    u.shift();
    expect(u.oldest()).toBe(4); // 3 is skipped
    u.settle(99); // unknown: no effect
    u.settle(2); // already settled: no effect
    expect(u.size).toBe(3);
    u.settleUpTo(5);
    expect(u.oldest()).toBe(6);
    u.settleUpTo(0); // 0 = all
    expect(u.oldest()).toBe(0);
    expect(u.size).toBe(0);
  });

  it('finds tags among long runs of settled ones and keeps its array small', () => {
    const u = new UnackedTags();
    for (let t = 1; t <= 5000; t++) u.push(t * 2); // gaps, as with a noAck consumer on the channel
    for (let t = 2; t <= 8000; t += 2) if (t % 6 !== 0) u.settle(t);
    expect(u.oldest()).toBe(6);
    u.settle(6000);
    u.settle(6001); // not a delivered tag
    const left: number[] = [];
    while (u.oldest() !== 0) {
      left.push(u.oldest());
      u.shift();
    }
    const expected: number[] = [];
    for (let t = 2; t <= 10000; t += 2) if ((t <= 8000 ? t % 6 === 0 : true) && t !== 6000) expected.push(t);
    expect(left).toEqual(expected);
  });
});

describe('AckFrames.widen', () => {
  it('turns the last unsent ack into ack(tag, multiple), byte for byte', async () => {
    const { fw, acks, out } = writer();
    acks.ackWidenable(3, 1);
    expect(acks.widen(3, 2)).toBe(true);
    expect(acks.widen(3, 2 ** 40 + 7)).toBe(true); // 64-bit tags
    await fw.whenWritten();
    expect(Buffer.concat(out)).toEqual(ackFrame(3, 2 ** 40 + 7, true));
  });

  it('refuses when widening could settle more than the separate acks', async () => {
    const { fw, acks, out } = writer();
    expect(acks.widen(1, 5)).toBe(false); // nothing written yet
    acks.ack(1, 4, false); // an ack that is not a prefix
    expect(acks.widen(1, 5)).toBe(false);
    acks.ackWidenable(1, 5);
    expect(acks.widen(1, 5)).toBe(false); // not above the ack's tag
    expect(acks.widen(1, 3)).toBe(false);
    expect(acks.widen(2, 6)).toBe(false); // another channel
    const mark = fw.method(1);
    encodeBasicQos(fw.w, { prefetchSize: 0, prefetchCount: 1, global: false });
    fw.end(mark);
    expect(acks.widen(1, 6)).toBe(false); // another frame followed the ack
    acks.ackWidenable(1, 6);
    writePublish(fw, 1, { exchange: '', routingKey: '', flags: -1, frame: new Uint8Array(0) }, '', 'q', 0, undefined, Buffer.from('x'));
    expect(acks.widen(1, 7)).toBe(false); // a publish followed it
    acks.ackWidenable(1, 7);
    await fw.whenWritten();
    expect(acks.widen(1, 8)).toBe(false); // already handed to the socket
    const all = Buffer.concat(out);
    expect(all.subarray(0, 21)).toEqual(ackFrame(1, 4, false));
    expect(all.subarray(21, 42)).toEqual(ackFrame(1, 5, false));
    expect(all.subarray(all.length - 21)).toEqual(ackFrame(1, 7, false));
  });
});
