// The raw baseline's side of issue 15's scenarios: publishes with realistic
// properties, many channels, many queues, and fixed-rate latency. Like
// raw.ts, everything is hand-written frames and nothing comes from src/.

import { once } from 'node:events';
import type { ChannelSet } from './adapter.js';
import { TS_HEADER } from './adapter.js';
import type { AppProps } from './props.js';
import { Enc, FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD, RawConnection, encodePublish, methodFrame } from './raw.js';

const CHANNEL_OPEN_OK = (20 << 16) | 11;
const CHANNEL_CLOSE_OK = (20 << 16) | 41;

/** A basic.publish (method, header with the given properties, body frames), like encodePublish. */
export function encodePublishProps(
  channel: number,
  routingKey: string,
  body: Uint8Array,
  frameMax: number,
  p: Partial<AppProps> & { headers: AppProps['headers'] },
): Buffer {
  const e = new Enc(body.length + 512);
  const m0 = e.pos;
  e.u8(FRAME_METHOD).u16(channel).u32(0).u16(60).u16(40).u16(0).shortstr('').shortstr(routingKey).u8(0).u8(FRAME_END);
  e.buf.writeUInt32BE(e.pos - m0 - 8, m0 + 3);
  const h0 = e.pos;
  e.u8(FRAME_HEADER).u16(channel).u32(0).u16(60).u16(0).u64(body.length);
  let flags = 0x2000; // headers
  if (p.contentType !== undefined) flags |= 0x8000;
  if (p.contentEncoding !== undefined) flags |= 0x4000;
  if (p.persistent) flags |= 0x1000;
  if (p.correlationId !== undefined) flags |= 0x0400;
  if (p.replyTo !== undefined) flags |= 0x0200;
  if (p.messageId !== undefined) flags |= 0x0080;
  if (p.timestamp !== undefined) flags |= 0x0040;
  if (p.type !== undefined) flags |= 0x0020;
  if (p.appId !== undefined) flags |= 0x0008;
  e.u16(flags);
  if (p.contentType !== undefined) e.shortstr(p.contentType);
  if (p.contentEncoding !== undefined) e.shortstr(p.contentEncoding);
  e.table(p.headers);
  if (p.persistent) e.u8(2);
  if (p.correlationId !== undefined) e.shortstr(p.correlationId);
  if (p.replyTo !== undefined) e.shortstr(p.replyTo);
  if (p.messageId !== undefined) e.shortstr(p.messageId);
  if (p.timestamp !== undefined) e.u64(Math.floor(p.timestamp.getTime() / 1000));
  if (p.type !== undefined) e.shortstr(p.type);
  if (p.appId !== undefined) e.shortstr(p.appId);
  e.u8(FRAME_END);
  e.buf.writeUInt32BE(e.pos - h0 - 8, h0 + 3);
  const max = frameMax - 8;
  for (let off = 0; off < body.length; off += max) {
    const len = Math.min(max, body.length - off);
    e.u8(FRAME_BODY).u16(channel).u32(len).bytes(body.subarray(off, off + len)).u8(FRAME_END);
  }
  return e.done();
}

/** Resolve once `count` methods with id `id` arrived on any channel. */
function countMethods(c: RawConnection, id: number, count: number): Promise<void> {
  let got = 0;
  return Promise.race([
    new Promise<void>((resolve) => {
      c.onOtherMethod = (m) => {
        if (m === id && ++got === count) {
          c.onOtherMethod = null;
          resolve();
        }
      };
    }),
    c.failed(),
  ]);
}

async function write(c: RawConnection, b: Buffer): Promise<void> {
  if (!c.send(b)) await Promise.race([once(c.socket, 'drain'), c.failed()]);
}

/** The next free channel id per connection (channel 1 is the connection's own). */
const nextId = new WeakMap<RawConnection, number>();

/** k fresh channels opened with one write of k channel.open frames. */
export async function rawOpenChannels(c: RawConnection, k: number): Promise<ChannelSet> {
  const first = nextId.get(c) ?? 2;
  nextId.set(c, first + k);
  const ids = Array.from({ length: k }, (_, i) => i + first);
  const opened = countMethods(c, CHANNEL_OPEN_OK, k);
  await write(c, Buffer.concat(ids.map((ch) => methodFrame(ch, 20, 10, (e) => e.shortstr('')))));
  await opened;
  let tpl: Buffer | null = null;
  return {
    async publishEach(queue, body) {
      tpl ??= Buffer.concat(ids.map((ch) => encodePublish(ch, '', queue, body, c.frameMax)));
      await write(c, tpl);
    },
    async close() {
      const closed = countMethods(c, CHANNEL_CLOSE_OK, k);
      await write(c, Buffer.concat(ids.map((ch) => methodFrame(ch, 20, 40, (e) => e.u16(200).shortstr('').u16(0).u16(0)))));
      await closed;
    },
  };
}

/**
 * 100 consumers on channel 1 (basic.qos per consumer), acked with
 * `multiple` once per socket read; the publisher repeats one pre-encoded
 * cycle of publishes over all queues.
 */
export async function rawManyQueues(c: RawConnection, queues: string[], body: Buffer, n: number, prefetch: number): Promise<() => Promise<void>> {
  await c.qos(prefetch);
  for (const q of queues) await c.consume(q, false);
  const cycle = Buffer.concat(queues.map((q) => encodePublish(1, '', q, body, c.frameMax)));
  const per = Math.max(1, Math.floor((256 * 1024) / cycle.length));
  const chunk = Buffer.concat(Array.from({ length: per }, () => cycle));
  return async () => {
    const base = c.deliveries;
    let acked = base;
    const done = new Promise<void>((resolve) => {
      c.onChunkEnd = () => {
        if (c.deliveries > acked) {
          acked = c.deliveries;
          c.ack(acked, true);
        }
        if (c.deliveries - base >= n) {
          c.onChunkEnd = null;
          resolve();
        }
      };
    });
    const cycles = n / queues.length;
    for (let sent = 0; sent < cycles; sent += per) {
      const k = Math.min(per, cycles - sent);
      await write(c, k === per ? chunk : chunk.subarray(0, k * cycle.length));
    }
    await Promise.race([done, c.failed()]);
  };
}

/** Fixed-rate latency: the timestamp patched into a copy of one template; replies read where the header's bytes say. */
export async function rawLatency(c: RawConnection, queue: string, body: Buffer, onTs: (ts: number) => void): Promise<(ts: number) => void> {
  const tpl = encodePublishProps(1, queue, body, c.frameMax, { headers: { [TS_HEADER]: 0 } });
  const key = Buffer.from(`${TS_HEADER}I`);
  const at = tpl.indexOf(key) + key.length;
  c.collectContent = true;
  c.onMessage = (m) => {
    const i = m.header.indexOf(key);
    if (i >= 0) onTs(m.header.readInt32BE(i + key.length));
  };
  await c.consume(queue, true);
  return (ts) => {
    const b = Buffer.from(tpl);
    b.writeInt32BE(ts, at);
    c.send(b);
  };
}
