// The publish fast path: basic.publish, its content header and body frames
// written straight into the FrameWriter's pooled buffer. A publisher that
// repeats exchange and routing key reuses its last method frame; a header
// without properties is written byte by byte; body slices of 8 KiB or more
// go to the socket uncopied.

import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD } from '../../generated/constants.js';
import { encodeBasicProperties, encodeBasicPublish, type BasicPropertiesInit } from '../../generated/basic.js';
import { FRAME_HEADER_SIZE } from './frame-parser.js';
import type { FrameWriter } from './frame-writer.js';

/** Body slices at least this long are sent as their own chunk, not copied. */
const LARGE_BODY = 8 * 1024;
const BASIC_CLASS = 60;

/**
 * The last basic.publish method frame a channel wrote, kept whole: most
 * publishers send run after run to the same exchange and routing key, and
 * copying 30-odd cached bytes beats encoding two short strings each time.
 */
export class PublishFrameCache {
  exchange = '';
  routingKey = '';
  /** mandatory | immediate << 1 */
  flags = -1;
  frame: Uint8Array = new Uint8Array(0);
}

/**
 * A whole publish: the basic.publish method frame (from `cache` when the
 * exchange, routing key and flags are the ones it holds), the content
 * header and the body frames. Throws `TypeError`, having written nothing,
 * when an argument or property cannot be encoded.
 */
export function writePublish(
  fw: FrameWriter,
  channel: number,
  cache: PublishFrameCache,
  exchange: string,
  routingKey: string,
  flags: number,
  properties: BasicPropertiesInit | undefined,
  body: Uint8Array,
): void {
  const len = body.length;
  // Method and header frames, and the body unless it goes out uncopied.
  fw.reserve(256 + (len < LARGE_BODY ? len : 0) + 8 * Math.ceil(len / fw.maxPayload));
  const w = fw.w;
  const mark = w.pos;
  if (exchange === cache.exchange && routingKey === cache.routingKey && flags === cache.flags) {
    const frame = cache.frame;
    w.ensure(frame.length);
    w.buf.set(frame, mark);
    w.pos = mark + frame.length;
  } else {
    fw.begin(FRAME_METHOD, channel);
    try {
      encodeBasicPublish(w, { exchange, routingKey, mandatory: (flags & 1) !== 0, immediate: (flags & 2) !== 0 });
      fw.end(mark);
    } catch (err) {
      w.pos = mark;
      throw err;
    }
    cache.frame = Uint8Array.prototype.slice.call(w.buf, mark, w.pos);
    cache.exchange = exchange;
    cache.routingKey = routingKey;
    cache.flags = flags;
  }
  try {
    writeContent(fw, channel, properties, body);
  } catch (err) {
    w.pos = mark;
    throw err;
  }
}

/**
 * Content header and body frames for `body` on `channel` (after its
 * method frame). Throws (having written nothing of the header) when the
 * properties cannot be encoded; the caller rolls back the method frame.
 */
export function writeContent(fw: FrameWriter, channel: number, properties: BasicPropertiesInit | undefined, body: Uint8Array): void {
  const w = fw.w;
  const len = body.length;
  if (properties === undefined && len <= 0xffffffff) {
    // No properties: a fixed 14-byte header payload, written byte by byte.
    w.ensure(FRAME_HEADER_SIZE + 15);
    const b = w.buf;
    const at = w.pos;
    b[at] = FRAME_HEADER;
    b[at + 1] = channel >>> 8;
    b[at + 2] = channel & 0xff;
    b[at + 3] = 0;
    b[at + 4] = 0;
    b[at + 5] = 0;
    b[at + 6] = 14; // payload size
    b[at + 7] = 0;
    b[at + 8] = BASIC_CLASS;
    b[at + 9] = 0; // weight
    b[at + 10] = 0;
    b[at + 11] = 0; // body size: 64 bits, high word zero
    b[at + 12] = 0;
    b[at + 13] = 0;
    b[at + 14] = 0;
    b[at + 15] = len >>> 24;
    b[at + 16] = (len >>> 16) & 0xff;
    b[at + 17] = (len >>> 8) & 0xff;
    b[at + 18] = len & 0xff;
    b[at + 19] = 0; // property flags: none
    b[at + 20] = 0;
    b[at + 21] = FRAME_END;
    w.pos = at + 22;
  } else {
    const mark = fw.begin(FRAME_HEADER, channel);
    w.u16(BASIC_CLASS);
    w.u16(0); // weight
    w.u64(len, 'content body size');
    encodeBasicProperties(w, properties);
    fw.end(mark);
  }
  const max = fw.maxPayload;
  for (let off = 0; off < len; off += max) {
    const n = Math.min(max, len - off);
    w.ensure(FRAME_HEADER_SIZE + 1);
    const b = w.buf;
    const at = w.pos;
    b[at] = FRAME_BODY;
    b.writeUInt16BE(channel, at + 1);
    b.writeUInt32BE(n, at + 3);
    w.pos = at + FRAME_HEADER_SIZE;
    if (n >= LARGE_BODY) {
      fw.pushUncopied(off === 0 && n === len ? body : body.subarray(off, off + n));
    } else {
      w.bytes(n === len ? body : body.subarray(off, off + n));
    }
    w.u8(FRAME_END);
  }
  fw.schedule();
}
