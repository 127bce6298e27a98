// The bytes the fake broker sends: method frames from the generated
// encoders, and content (header + body frames) for deliveries. Each call
// returns a fresh Buffer, so a frame can be handed to the socket as it is.

import { Writer } from '../wire/index.js';
import { encodeBasicProperties, type BasicPropertiesInit } from '../../generated/basic.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../generated/constants.js';

const BASIC_CLASS = 60;
const FRAME_OVERHEAD = 8;

/** A generated method encoder: `encodeQueueDeclareOk`, or `encodeChannelOpenOk` (no arguments). */
export type Encoder<T> = (w: Writer, args: T) => void;

function frame(type: number, channel: number, fill: (w: Writer) => void): Buffer {
  const w = new Writer(256);
  w.u8(type);
  w.u16(channel);
  w.u32(0); // size, patched below
  fill(w);
  w.buf.writeUInt32BE(w.pos - 7, 3);
  w.u8(FRAME_END);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** One method frame on `channel`. */
export function methodFrame<T>(channel: number, encode: Encoder<T>, args: T): Buffer {
  return frame(FRAME_METHOD, channel, (w) => encode(w, args));
}

export function heartbeatFrame(): Buffer {
  return frame(FRAME_HEARTBEAT, 0, () => undefined);
}

/** The content header and body frames of a basic message, bodies cut to fit `frameMax`. */
export function contentFrames(channel: number, body: Buffer, properties: BasicPropertiesInit | undefined, frameMax: number): Buffer[] {
  const header = frame(FRAME_HEADER, channel, (w) => {
    w.u16(BASIC_CLASS);
    w.u16(0); // weight
    w.u64(body.length, 'body-size');
    encodeBasicProperties(w, properties);
  });
  const out = [header];
  const max = frameMax - FRAME_OVERHEAD;
  for (let at = 0; at < body.length; at += max) {
    const piece = body.subarray(at, Math.min(body.length, at + max));
    out.push(
      frame(FRAME_BODY, channel, (w) => {
        w.ensure(piece.length);
        piece.copy(w.buf, w.pos);
        w.pos += piece.length;
      }),
    );
  }
  return out;
}
