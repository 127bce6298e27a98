// FrameWriter.publish reuses the last basic.publish frame of a channel:
// what it writes must be exactly what encoding every publish from scratch
// writes, whatever the sequence of exchanges, routing keys and flags.

import { describe, expect, it, vi } from 'vitest';
import { encodeBasicPublish, type BasicPropertiesInit } from '../../../generated/index.js';
import { FrameWriter } from '../../../src/framing/frame-writer.js';
import { PublishFrameCache, writeContent, writePublish } from '../../../src/framing/publish-frames.js';

type Publish = [exchange: string, routingKey: string, flags: number, properties: BasicPropertiesInit | undefined, body: string];

/** Everything the writer hands to the transport, concatenated. */
async function bytesOf(write: (fw: FrameWriter) => void): Promise<Buffer> {
  const out: Uint8Array[] = [];
  const fw = new FrameWriter((chunks) => {
    out.push(...chunks);
    return true;
  });
  fw.maxPayload = 4088;
  write(fw);
  await fw.whenWritten();
  return Buffer.concat(out);
}

const sequence: Publish[] = [
  ['', 'q1', 0, undefined, 'a'],
  ['', 'q1', 0, undefined, 'b'],
  ['', 'q2', 0, undefined, 'c'],
  ['ex', 'q2', 0, { contentType: 'text/plain' }, 'd'],
  ['ex', 'q2', 1, undefined, 'e'],
  ['ex', 'q2', 1, { headers: { n: 1 } }, 'f'.repeat(5000)],
  ['ex', 'q2', 3, undefined, ''],
  ['', 'q1', 0, undefined, 'g'],
  ['ünï', 'çødé', 0, undefined, 'h'],
];

describe('FrameWriter.publish', () => {
  it('writes the same bytes as encoding each publish from scratch', async () => {
    const cached = await bytesOf((fw) => {
      const cache = new PublishFrameCache();
      for (const [exchange, routingKey, flags, props, body] of sequence) {
        writePublish(fw, 7, cache, exchange, routingKey, flags, props, Buffer.from(body));
      }
    });
    const fresh = await bytesOf((fw) => {
      for (const [exchange, routingKey, flags, props, body] of sequence) {
        const mark = fw.method(7);
        encodeBasicPublish(fw.w, { exchange, routingKey, mandatory: (flags & 1) !== 0, immediate: (flags & 2) !== 0 });
        fw.end(mark);
        writeContent(fw, 7, props, Buffer.from(body));
      }
    });
    expect(cached.toString('hex')).toBe(fresh.toString('hex'));
  });

  it('writes nothing and keeps its cache when an argument cannot be encoded', async () => {
    const cache = new PublishFrameCache();
    const bytes = await bytesOf((fw) => {
      writePublish(fw, 1, cache, '', 'ok', 0, undefined, Buffer.from('1'));
      expect(() => writePublish(fw, 1, cache, '', 'k'.repeat(256), 0, undefined, Buffer.from('2'))).toThrow(TypeError);
      expect(() => writePublish(fw, 1, cache, '', 'ok', 0, { priority: 300 }, Buffer.from('3'))).toThrow(TypeError);
      writePublish(fw, 1, cache, '', 'ok', 0, undefined, Buffer.from('4'));
    });
    expect(cache.routingKey).toBe('ok');
    // Two publishes of 1-byte bodies: method + header + body frames each, and nothing else.
    const frames: number[] = [];
    for (let at = 0; at < bytes.length; at += 8 + bytes.readUInt32BE(at + 3)) frames.push(bytes[at]!);
    expect(frames).toEqual([1, 2, 3, 1, 2, 3]);
    expect(bytes.includes(Buffer.from('k'.repeat(16)))).toBe(false);
  });

  it('fills fresh slabs instead of growing one: a burst of 4 KiB publishes is never re-copied', async () => {
    const chunks: Uint8Array[] = [];
    const fw = new FrameWriter((c) => {
      chunks.push(...c);
      return true;
    });
    fw.maxPayload = 131064;
    const cache = new PublishFrameCache();
    const body = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 1000; i++) {
      body.writeUInt32BE(i, 0);
      writePublish(fw, 1, cache, '', 'q', 0, i % 10 === 0 ? { messageId: `m${i}` } : undefined, body);
    }
    await fw.whenWritten();
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(64 * 1024);
    // Every frame intact and in order.
    const all = Buffer.concat(chunks);
    let at = 0;
    let bodies = 0;
    while (at < all.length) {
      const size = all.readUInt32BE(at + 3);
      expect(all[at + 7 + size]).toBe(0xce);
      if (all[at] === 3) expect(all.readUInt32BE(at + 7)).toBe(bodies++);
      at += 8 + size;
    }
    expect(bodies).toBe(1000);
  });

  it('writes over a slab only after the transport said it is done with it', async () => {
    const batches: Array<{ chunks: Uint8Array[]; copy: Buffer; written: (() => void) | undefined }> = [];
    const fw = new FrameWriter((chunks, written) => {
      batches.push({ chunks, copy: Buffer.concat(chunks), written });
      return true;
    });
    fw.maxPayload = 131064;
    const cache = new PublishFrameCache();
    /** 400 KiB of publishes in one turn: the writes it made (early ones included) and the memory they used. */
    const burst = async (fill: number): Promise<{ writes: number[]; slabs: Set<ArrayBufferLike> }> => {
      const first = batches.length;
      for (let i = 0; i < 100; i++) writePublish(fw, 1, cache, '', 'q', 0, undefined, Buffer.alloc(4096, fill));
      await fw.whenWritten();
      const writes = batches.map((_, i) => i).slice(first);
      return { writes, slabs: new Set(writes.flatMap((i) => batches[i]!.chunks.map((c) => c.buffer))) };
    };
    /** Writes the transport still holds have not been written over. */
    const intact = (held: number[]): void => {
      for (const i of held) expect(Buffer.concat(batches[i]!.chunks).equals(batches[i]!.copy)).toBe(true);
    };
    const a = await burst(0x61);
    expect(a.writes.length).toBeGreaterThan(1); // 400 KiB: written early in part, before the end of the turn
    const b = await burst(0x62); // A not yet written: its slabs must not come back
    intact([...a.writes, ...b.writes]);
    expect([...b.slabs].some((x) => a.slabs.has(x))).toBe(false);
    for (const i of a.writes) batches[i]!.written?.();
    const c = await burst(0x63);
    intact(b.writes); // B still held by the transport, untouched
    expect([...c.slabs].some((x) => a.slabs.has(x))).toBe(true); // A's slabs reused
    expect([...c.slabs].some((x) => b.slabs.has(x))).toBe(false);
    const bodies = Buffer.concat(c.writes.map((i) => batches[i]!.copy));
    expect(bodies.includes(Buffer.alloc(4096, 0x63))).toBe(true);
    expect(bodies.includes(Buffer.alloc(16, 0x61))).toBe(false);
  });
  it('a burst past 256 KiB goes out in parts during the turn, in order, and a full transport still holds the batch until drained()', async () => {
    const writes: Buffer[] = [];
    const fw = new FrameWriter((chunks) => {
      writes.push(Buffer.concat(chunks));
      return false; // above the high-water mark from the first write on
    });
    fw.maxPayload = 131064;
    const cache = new PublishFrameCache();
    for (let i = 0; i < 100; i++) writePublish(fw, 1, cache, '', 'q', 0, undefined, Buffer.alloc(4096, i));
    expect(writes.length).toBeGreaterThan(0); // written before the turn ended
    let settled = false;
    const done = fw.whenWritten().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.length).toBeGreaterThan(1);
    expect(settled).toBe(false); // the transport is full: the publishes wait for its drain
    fw.drained();
    await done;
    const all = Buffer.concat(writes);
    let at = 0;
    for (let i = 0; i < 100; i++) {
      const k = all.indexOf(Buffer.alloc(4096, i), at);
      expect(k, `body ${i} in order`).toBeGreaterThanOrEqual(at);
      at = k + 4096;
    }
  });
  it('keeps a burst of megabytes worth of slabs for the next burst, and lets them go after a quiet second', async () => {
    const batches: Array<{ chunks: Uint8Array[]; written: (() => void) | undefined }> = [];
    const fw = new FrameWriter((chunks, written) => {
      batches.push({ chunks, written });
      return true;
    });
    fw.maxPayload = 131064;
    const cache = new PublishFrameCache();
    /** 3.2 MiB of publishes in one turn (50 slabs), written out at once: the memory it used. */
    const burst = async (): Promise<Set<ArrayBufferLike>> => {
      const first = batches.length;
      for (let i = 0; i < 800; i++) writePublish(fw, 1, cache, '', 'q', 0, undefined, Buffer.alloc(4096, i));
      await fw.whenWritten();
      const mine = batches.slice(first);
      for (const b of mine) b.written?.();
      return new Set(mine.flatMap((b) => b.chunks.map((c) => c.buffer)));
    };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const a = await burst();
      expect(a.size).toBeGreaterThan(40);
      const b = await burst(); // right after: every slab of the same size comes from A
      expect([...b].filter((x) => !a.has(x)).length).toBeLessThanOrEqual(1);
      vi.setSystemTime(Date.now() + 1500);
      const c = await burst(); // after a quiet second the pool was trimmed to a few slabs
      const reused = [...c].filter((x) => a.has(x) || b.has(x)).length;
      expect(reused).toBeGreaterThan(0);
      expect(reused).toBeLessThanOrEqual(8);
    } finally {
      vi.useRealTimers();
    }
  });
});
