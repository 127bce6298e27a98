// `npm run bench:codec` — codec throughput, ours vs amqplib's (issue 2)
// and, for encoding, @cloudamqp/amqp-client's (issue 5: the best encoder
// among the peers; its decoder is not separable from its connection).
//
// What a client does per message, without the socket:
//   encode  basic.publish method frame + content header frame + one body frame
//           (16 B and 4 KiB bodies) into bytes ready for socket.write
//   decode  basic.deliver method frame + header frame + body frame from one
//           received chunk: frame headers, method, properties, body slice
//
// ours:    one reused Writer (as src/framing's FrameWriter does), frame headers
//          written by hand, encodeBasicPublish + encodeBasicProperties + body
//          copy; decoding with one reused Reader, decodeMethod and
//          decodeBasicProperties.
// amqplib: exactly what Connection#sendMessage does (defs.encodeMethod,
//          defs.encodeProperties, frame.makeBodyFrame, one allocUnsafe chunk
//          below its 2 KiB threshold, else separate chunks); decoding with
//          frame.parseFrame + frame.decodeFrame (defs.decode inside), as
//          Connection#recvFrame does.
// amqp-client: what AMQPChannel#basicPublish writes, through its AMQPView
//          (setShortString, setProperties) into one reused view, minus the
//          promises around it.
//
// Rounds are interleaved (5 rounds, alternating which codec goes first);
// each cell reports the median of the rounds. Frames/s counts the three
// frames of a message.
import { performance } from 'node:perf_hooks';
import {
  BASIC_DELIVER,
  decodeBasicProperties,
  decodeMethod,
  encodeBasicDeliver,
  encodeBasicProperties,
  encodeBasicPublish,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_METHOD,
  type BasicPropertiesInit,
  type BasicPublish,
} from '../generated/index.js';
import { Reader, Writer } from '../src/wire/index.js';
import { defs, frame as amqFrame, type AmqplibFields } from '../test/codec/support/amqplib.js';
import { AMQPView } from '@cloudamqp/amqp-client/amqp-view';
import type { AMQPProperties } from '@cloudamqp/amqp-client';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const CELL_MS = Number(process.env['CELL_MS'] ?? 400);
const CHANNEL = 1;
const FRAME_MAX = 131072;

// ---- the message -------------------------------------------------------

const publishArgs: BasicPublish = { exchange: 'amq.topic', routingKey: 'orders.eu.created', mandatory: false, immediate: false };
const nowSecs = 1_700_000_000;
const oursProps: BasicPropertiesInit = {
  contentType: 'application/json',
  deliveryMode: 2,
  headers: { 'x-trace-id': 'a3f1c9e0', attempt: 1 },
  messageId: 'msg-000042',
  timestamp: new Date(nowSecs * 1000),
  appId: 'bench',
};
const amqProps: AmqplibFields = {
  contentType: 'application/json',
  deliveryMode: 2,
  headers: { 'x-trace-id': 'a3f1c9e0', attempt: 1 },
  messageId: 'msg-000042',
  timestamp: nowSecs,
  appId: 'bench',
};
const amqPublish: AmqplibFields = { ticket: 0, exchange: 'amq.topic', routingKey: 'orders.eu.created', mandatory: false, immediate: false };

const BODIES = { '16 B': Buffer.alloc(16, 0x61), '4 KiB': Buffer.alloc(4096, 0x62) } as const;
type Size = keyof typeof BODIES;

// ---- ours --------------------------------------------------------------

const w = new Writer(64 * 1024);

/** Start a frame at the writer's position; returns where it starts. */
function beginFrame(type: number): number {
  const at = w.pos;
  w.ensure(7);
  const b = w.buf;
  b[at] = type;
  b.writeUInt16BE(CHANNEL, at + 1);
  w.pos = at + 7;
  return at;
}

function endFrame(at: number): void {
  w.ensure(1);
  w.buf.writeUInt32BE(w.pos - at - 7, at + 3);
  w.buf[w.pos++] = FRAME_END;
}

function oursEncode(body: Buffer): Buffer {
  w.pos = 0; // the bytes of the previous message were "written to the socket"
  let at = beginFrame(FRAME_METHOD);
  encodeBasicPublish(w, publishArgs);
  endFrame(at);
  at = beginFrame(FRAME_HEADER);
  w.u16(60);
  w.u16(0);
  w.u64(body.length, 'body-size');
  encodeBasicProperties(w, oursProps);
  endFrame(at);
  at = beginFrame(FRAME_BODY);
  w.bytes(body);
  endFrame(at);
  return w.buf.subarray(0, w.pos);
}

const r = new Reader();

interface Delivery {
  args: unknown;
  props: unknown;
  body: Buffer;
}

function oursDecode(chunk: Buffer): Delivery {
  // method frame
  let p = 0;
  let size = chunk.readUInt32BE(p + 3);
  let end = p + 7 + size;
  if (chunk[p] !== FRAME_METHOD || chunk[end] !== FRAME_END) throw new Error('bad method frame');
  const m = decodeMethod(r.reset(chunk, p + 7, end));
  // header frame
  p = end + 1;
  size = chunk.readUInt32BE(p + 3);
  end = p + 7 + size;
  if (chunk[p] !== FRAME_HEADER || chunk[end] !== FRAME_END) throw new Error('bad header frame');
  r.reset(chunk, p + 7, end);
  r.u16('class-id');
  r.u16('weight');
  const bodySize = r.u64('body-size');
  const props = decodeBasicProperties(r);
  // body frame
  p = end + 1;
  size = chunk.readUInt32BE(p + 3);
  end = p + 7 + size;
  if (chunk[p] !== FRAME_BODY || chunk[end] !== FRAME_END || size !== bodySize) throw new Error('bad body frame');
  return { args: m.args, props, body: chunk.subarray(p + 7, end) };
}

// ---- amqplib -----------------------------------------------------------

const SINGLE_CHUNK_THRESHOLD = 2048; // amqplib/lib/connection.js
const FRAME_OVERHEAD = 8;

/** Connection#sendMessage without the stream write: returns the chunks it would write. */
function amqplibEncode(body: Buffer): Buffer[] {
  const mframe = defs.encodeMethod(BASIC_PUBLISH_ID, CHANNEL, amqPublish);
  const pframe = defs.encodeProperties(60, CHANNEL, body.length, amqProps);
  const methodHeaderLen = mframe.length + pframe.length;
  const bodyLen = body.length > 0 ? body.length + FRAME_OVERHEAD : 0;
  const allLen = methodHeaderLen + bodyLen;
  if (allLen < SINGLE_CHUNK_THRESHOLD) {
    const all = Buffer.allocUnsafe(allLen);
    let offset = mframe.copy(all, 0);
    offset += pframe.copy(all, offset);
    if (bodyLen > 0) amqFrame.makeBodyFrame(CHANNEL, body).copy(all, offset);
    return [all];
  }
  const both = Buffer.allocUnsafe(methodHeaderLen);
  pframe.copy(both, mframe.copy(both, 0));
  // Connection#sendContent: one body frame per frame-max − 8 bytes
  const out: Buffer[] = [both];
  const maxBody = FRAME_MAX - FRAME_OVERHEAD;
  for (let offset = 0; offset < body.length; offset += maxBody) {
    const e = offset + maxBody;
    out.push(amqFrame.makeBodyFrame(CHANNEL, e > body.length ? body.subarray(offset) : body.subarray(offset, e)));
  }
  return out;
}
const BASIC_PUBLISH_ID = (60 << 16) | 40;

/** Connection#recvFrame over one chunk holding the three frames. */
function amqplibDecode(chunk: Buffer): Delivery {
  let rest = chunk;
  const next = (): ReturnType<typeof amqFrame.decodeFrame> => {
    const f = amqFrame.parseFrame(rest, FRAME_MAX);
    if (!f) throw new Error('short chunk');
    rest = f.rest;
    return amqFrame.decodeFrame(f);
  };
  const m = next();
  const h = next();
  const b = next();
  if (m.id !== BASIC_DELIVER || h.size !== b.content?.length) throw new Error('bad delivery');
  return { args: m.fields, props: h.fields, body: b.content! };
}

// ---- @cloudamqp/amqp-client (encode only) ---------------------------------

const acView = new AMQPView(new ArrayBuffer(FRAME_MAX));
const acBytes = new Uint8Array(acView.buffer);
/** The same properties as ours: amqp-client takes the same names and a Date timestamp. */
const acProps = oursProps as AMQPProperties;

/** The three frames AMQPChannel#basicPublish builds for a body below frame-max. */
function amqpClientEncode(body: Buffer): Uint8Array {
  const v = acView;
  let j = 0;
  v.setUint8(j, FRAME_METHOD);
  v.setUint16(j + 1, CHANNEL);
  j += 7;
  v.setUint16(j, 60);
  v.setUint16(j + 2, 40);
  v.setUint16(j + 4, 0); // reserved-1
  j += 6;
  j += v.setShortString(j, publishArgs.exchange);
  j += v.setShortString(j, publishArgs.routingKey);
  v.setUint8(j++, 0); // mandatory, immediate
  v.setUint8(j++, FRAME_END);
  v.setUint32(3, j - 8);
  const header = j;
  v.setUint8(j, FRAME_HEADER);
  v.setUint16(j + 1, CHANNEL);
  j += 7;
  v.setUint16(j, 60);
  v.setUint16(j + 2, 0);
  v.setUint32(j + 4, 0);
  v.setUint32(j + 8, body.byteLength);
  j += 12;
  j += v.setProperties(j, acProps);
  v.setUint8(j++, FRAME_END);
  v.setUint32(header + 3, j - header - 8);
  v.setUint8(j, FRAME_BODY);
  v.setUint16(j + 1, CHANNEL);
  v.setUint32(j + 3, body.byteLength);
  j += 7;
  acBytes.set(body, j);
  j += body.byteLength;
  v.setUint8(j++, FRAME_END);
  return acBytes.subarray(0, j);
}

/** Our decoders' view of a publish chunk: method args, properties, body. */
function readPublish(chunk: Buffer): { args: unknown; props: unknown; body: Buffer } {
  let p = 0;
  let size = chunk.readUInt32BE(p + 3);
  let end = p + 7 + size;
  const m = decodeMethod(r.reset(chunk, p + 7, end));
  p = end + 1;
  size = chunk.readUInt32BE(p + 3);
  end = p + 7 + size;
  r.reset(chunk, p + 7 + 12, end);
  const props = decodeBasicProperties(r);
  p = end + 1;
  size = chunk.readUInt32BE(p + 3);
  if (chunk[p] !== FRAME_BODY || chunk[p + 7 + size] !== FRAME_END) throw new Error('bad body frame');
  return { args: m.args, props: { ...props }, body: chunk.subarray(p + 7, p + 7 + size) };
}

// ---- inputs for decoding: one received chunk per size ----------------

function deliverChunk(body: Buffer): Buffer {
  w.pos = 0;
  let at = beginFrame(FRAME_METHOD);
  encodeBasicDeliver(w, { consumerTag: 'amq.ctag-Xy3kQ9vW0pLm', deliveryTag: 123456, redelivered: false, exchange: 'amq.topic', routingKey: 'orders.eu.created' });
  endFrame(at);
  at = beginFrame(FRAME_HEADER);
  w.u16(60);
  w.u16(0);
  w.u64(body.length, 'body-size');
  encodeBasicProperties(w, oursProps);
  endFrame(at);
  at = beginFrame(FRAME_BODY);
  w.bytes(body);
  endFrame(at);
  return Buffer.from(w.buf.subarray(0, w.pos));
}
const CHUNKS: Record<Size, Buffer> = { '16 B': deliverChunk(BODIES['16 B']), '4 KiB': deliverChunk(BODIES['4 KiB']) };

// ---- sanity: both sides produce / read the same thing ----------------

function check(): void {
  for (const size of Object.keys(BODIES) as Size[]) {
    const ours = Buffer.from(oursEncode(BODIES[size]));
    const theirs = Buffer.concat(amqplibEncode(BODIES[size]));
    if (!ours.equals(theirs)) throw new Error(`encode ${size}: ours and amqplib's bytes differ`);
    // amqp-client may pick other table type codes: compare what the bytes mean.
    const ac = readPublish(Buffer.from(amqpClientEncode(BODIES[size])));
    const ref = readPublish(ours);
    if (JSON.stringify(ac) !== JSON.stringify(ref)) throw new Error(`encode ${size}: amqp-client's frames mean something else`);
    const a = oursDecode(CHUNKS[size]);
    const b = amqplibDecode(CHUNKS[size]);
    if (!a.body.equals(b.body)) throw new Error(`decode ${size}: bodies differ`);
  }
}

// ---- timing --------------------------------------------------------------

let sink = 0;

type Op = () => void;
type Codec = 'ours' | 'amqplib' | 'amqp-client';
const PEERS = ['amqplib', 'amqp-client'] as const;

const OPS: Record<string, Partial<Record<Codec, Record<Size, Op>>>> = {
  'encode publish+header+body': {
    ours: { '16 B': () => void (sink += oursEncode(BODIES['16 B']).length), '4 KiB': () => void (sink += oursEncode(BODIES['4 KiB']).length) },
    amqplib: {
      '16 B': () => void (sink += amqplibEncode(BODIES['16 B']).length),
      '4 KiB': () => void (sink += amqplibEncode(BODIES['4 KiB']).length),
    },
    'amqp-client': {
      '16 B': () => void (sink += amqpClientEncode(BODIES['16 B']).length),
      '4 KiB': () => void (sink += amqpClientEncode(BODIES['4 KiB']).length),
    },
  },
  'decode deliver+header+body': {
    ours: { '16 B': () => void (sink += oursDecode(CHUNKS['16 B']).body.length), '4 KiB': () => void (sink += oursDecode(CHUNKS['4 KiB']).body.length) },
    amqplib: {
      '16 B': () => void (sink += amqplibDecode(CHUNKS['16 B']).body.length),
      '4 KiB': () => void (sink += amqplibDecode(CHUNKS['4 KiB']).body.length),
    },
  },
};

/** Messages per second over about `ms` milliseconds. */
function measure(op: Op, ms: number): number {
  const budget = BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let n = 0;
  let elapsed = 0n;
  do {
    for (let i = 0; i < 2000; i++) op();
    n += 2000;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return n / (Number(elapsed) / 1e9);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function codecsOf(kind: string): Codec[] {
  return (['ours', ...PEERS] as Codec[]).filter((c) => OPS[kind]![c] !== undefined);
}

function main(): void {
  check();
  const t0 = performance.now();
  // Warm-up: let every codec get optimised before anything is timed.
  for (const kind of Object.keys(OPS)) {
    for (const codec of codecsOf(kind)) {
      for (const size of Object.keys(BODIES) as Size[]) measure(OPS[kind]![codec]![size], 300);
    }
  }

  const results = new Map<string, number[]>();
  const key = (kind: string, codec: string, size: string): string => `${kind}|${codec}|${size}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of Object.keys(OPS)) {
      const codecs = codecsOf(kind);
      // Rotate which codec goes first.
      const order = codecs.map((_, i) => codecs[(i + round) % codecs.length]!);
      for (const size of Object.keys(BODIES) as Size[]) {
        for (const codec of order) {
          const k = key(kind, codec, size);
          const list = results.get(k) ?? [];
          list.push(measure(OPS[kind]![codec]![size], CELL_MS));
          results.set(k, list);
        }
      }
    }
  }

  const rows: string[][] = [
    ['operation', 'body', 'ours msg/s', 'ours frames/s', 'amqplib msg/s', 'amqp-client msg/s', 'ours / amqplib', 'ours / best peer'],
  ];
  const vsAmqplib: number[] = [];
  const vsBest: number[] = [];
  for (const kind of Object.keys(OPS)) {
    for (const size of Object.keys(BODIES) as Size[]) {
      const rate = (c: Codec): number | undefined => {
        const xs = results.get(key(kind, c, size));
        return xs === undefined ? undefined : median(xs);
      };
      const ours = rate('ours')!;
      const amqplib = rate('amqplib')!;
      const ac = rate('amqp-client');
      const best = Math.max(amqplib, ac ?? 0);
      vsAmqplib.push(ours / amqplib);
      vsBest.push(ours / best);
      rows.push([
        kind,
        size,
        fmt(ours),
        fmt(ours * 3),
        fmt(amqplib),
        ac === undefined ? '—' : fmt(ac),
        `${(ours / amqplib).toFixed(2)}×`,
        `${(ours / best).toFixed(2)}×`,
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\nCodec benchmark: ${ROUNDS} interleaved rounds × ${CELL_MS} ms per cell, median of rounds (node ${process.version})\n`);
  console.log(line(rows[0]!));
  console.log(`|${widths.map((wd, i) => (i < 2 ? ':' + '-'.repeat(wd + 1) : '-'.repeat(wd + 1) + ':')).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  const worstAmqplib = Math.min(...vsAmqplib);
  const worstBest = Math.min(...vsBest);
  console.log(`\ngoal (issue 2): ours ≥ 2× amqplib everywhere — ${worstAmqplib >= 2 ? 'met' : 'NOT met'} (lowest ratio ${worstAmqplib.toFixed(2)}×)`);
  console.log(`goal (issue 5): ours ≥ 2× the best peer everywhere — ${worstBest >= 2 ? 'met' : 'NOT met'} (lowest ratio ${worstBest.toFixed(2)}×)`);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s; checksum ${sink % 997})`);
}

main();
