// Typed access to amqplib's codec, used only as an independent oracle.
// amqplib ships CommonJS without declarations for these internals, so the
// few functions the tests call are typed here by hand from lib/defs.js,
// lib/codec.js and lib/frame.js.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// The package's "exports" map hides lib/; load the files by path from the
// package root instead.
const root = dirname(require.resolve('amqplib'));

/** A field as amqplib's generated `methodInfoX.args` describes it. */
export interface AmqplibArg {
  readonly type: string;
  readonly name: string;
}

export interface AmqplibMethodInfo {
  readonly id: number;
  readonly classId: number;
  readonly methodId: number;
  readonly name: string;
  readonly args: readonly AmqplibArg[];
}

export type AmqplibFields = Record<string, unknown>;

export interface AmqplibDefs {
  /** Decode method arguments (buffer after the method id) or, with a class id, properties (buffer from the flag word). */
  decode(id: number, buf: Buffer): AmqplibFields;
  /** A whole method frame: type, channel, size, id, arguments, frame-end. */
  encodeMethod(id: number, channel: number, fields: AmqplibFields): Buffer;
  /** A whole content-header frame. */
  encodeProperties(id: number, channel: number, size: number, fields: AmqplibFields): Buffer;
  info(id: number): AmqplibMethodInfo;
}

export interface AmqplibCodec {
  encodeTable(buf: Buffer, val: AmqplibFields, offset: number): number;
  decodeFields(slice: Buffer): AmqplibFields;
}

export interface AmqplibFrame {
  readonly type: number;
  readonly channel: number;
  readonly size: number;
  readonly payload: Buffer;
  readonly rest: Buffer;
}

export interface AmqplibFrameModule {
  makeBodyFrame(channel: number, payload: Buffer): Buffer;
  parseFrame(bin: Buffer, max: number): AmqplibFrame | false;
  decodeFrame(frame: AmqplibFrame): { id?: number; channel: number; size?: number; fields?: AmqplibFields; content?: Buffer };
}

export const defs = require(join(root, 'lib/defs.js')) as AmqplibDefs;
export const codec = require(join(root, 'lib/codec.js')) as AmqplibCodec;
export const frame = require(join(root, 'lib/frame.js')) as AmqplibFrameModule;

/** amqplib's method info for an id, or undefined when amqplib does not know the method. */
export function amqplibInfo(id: number): AmqplibMethodInfo | undefined {
  try {
    return defs.info(id);
  } catch {
    return undefined;
  }
}
