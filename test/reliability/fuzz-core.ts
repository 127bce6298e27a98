// The fuzzing engine of scenario 7, shared by the bounded test
// (fuzz.test.ts) and the long campaign (fuzz-campaign.ts, `npm run fuzz`).
//
// Input: the bytes a real RabbitMQ sent during one recorded session
// (fixtures/broker-session.json, made by fixtures/capture.ts), cut into the
// session's steps. Each case derives its own PRNG from (seed, case index),
// so any case can be replayed alone, and either
//   - 'frames': feeds a mutated or random stream, in random chunks, to the
//     frame reader (FrameParser) and the decoders behind it (decodeMethod,
//     the content-header fields + decodeBasicProperties, ContentAssembler); or
//   - 'client': replays the session against a real AmqpProtocol over an
//     in-memory socket, the server's side mutated, running the same API
//     calls as the recording, then drops the socket.
// A case fails when anything but a FrameError comes out of the frame
// layer, when the client ends with an internal error (anything the library
// did not classify: FrameError 541 wrapping another exception), rejects a
// call with something that is not an AmqpError, reports the end of the
// connection to onError other than once, or leaves a call pending after
// its connection is gone.

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD, decodeBasicProperties, decodeMethod, METHOD_INFO } from '../../generated/index.js';
import { AmqpClosedConnection, AmqpError, AmqpProtocol, FrameError, type Channel } from '../../src/index.js';
import { ContentAssembler } from '../../src/framing/content.js';
import { FrameParser } from '../../src/framing/frame-parser.js';
import { Reader } from '../../src/wire/index.js';

// ---------------------------------------------------------------------------
// The recorded session
// ---------------------------------------------------------------------------

export interface Fixture {
  readonly description: string;
  readonly broker: string;
  readonly frameMax: number;
  readonly segments: readonly { readonly step: string; readonly hex: string }[];
}

export interface Corpus {
  readonly fixture: Fixture;
  /** The server's bytes of each step, in order. */
  readonly segments: readonly Buffer[];
  /** All of them, concatenated. */
  readonly stream: Buffer;
  /** Offsets of whole frames in `stream` (after the first segment's start). */
  readonly frames: readonly { readonly start: number; readonly end: number }[];
  /** Each frame on its own. */
  readonly frameBytes: readonly Buffer[];
}

export const FIXTURE_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'broker-session.json');

export function loadCorpus(file = FIXTURE_PATH): Corpus {
  const fixture = JSON.parse(readFileSync(file, 'utf8')) as Fixture;
  const segments = fixture.segments.map((s) => Buffer.from(s.hex, 'hex'));
  const stream = Buffer.concat(segments);
  const frames: { start: number; end: number }[] = [];
  let pos = 0;
  while (pos + 8 <= stream.length) {
    const size = stream.readUInt32BE(pos + 3);
    const end = pos + 8 + size;
    if (end > stream.length) break;
    frames.push({ start: pos, end });
    pos = end;
  }
  return { fixture, segments, stream, frames, frameBytes: frames.map((f) => stream.subarray(f.start, f.end)) };
}

// ---------------------------------------------------------------------------
// PRNG (xorshift128+ folded to 32 bits; seeded per case)
// ---------------------------------------------------------------------------

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    // splitmix32 to spread the seed over four words
    let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }

  /** 32 random bits. */
  u32(): number {
    // xoshiro128**
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xce, 0xff, 8, 2, 3];
const INTERESTING_32 = [0, 1, 7, 8, 0xff, 0x100, 0xfff8, 0xffff, 0x10000, 4088, 4096, 131072, 0x7fffffff, 0x80000000, 0xffffffff];

export type MutationName =
  | 'bitflip'
  | 'byte'
  | 'truncate'
  | 'delete'
  | 'duplicate'
  | 'splice'
  | 'insert-random'
  | 'frame-size'
  | 'frame-end'
  | 'frame-type'
  | 'frame-channel'
  | 'u32-at'
  | 'u16-at'
  | 'drop-frame'
  | 'repeat-frame'
  | 'swap-frames';

const MUTATIONS: readonly MutationName[] = [
  'bitflip',
  'bitflip',
  'byte',
  'truncate',
  'delete',
  'duplicate',
  'splice',
  'insert-random',
  'frame-size',
  'frame-size',
  'frame-end',
  'frame-type',
  'frame-channel',
  'u32-at',
  'u16-at',
  'drop-frame',
  'repeat-frame',
  'swap-frames',
];

/** Frame starts in `buf`, scanned from 0 as long as the sizes hold. */
function frameStarts(buf: Buffer): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos + 8 <= buf.length) {
    out.push(pos);
    const size = buf.readUInt32BE(pos + 3);
    pos += 8 + size;
  }
  return out;
}

/** Apply one mutation (returns a new buffer; never mutates `input`). */
export function mutate(input: Buffer, rng: Rng, corpus: Corpus, which: MutationName = rng.pick(MUTATIONS)): Buffer {
  const b = Buffer.from(input);
  const len = b.length;
  const at = (): number => rng.int(Math.max(1, len));
  const starts = (): number[] => frameStarts(b);
  switch (which) {
    case 'bitflip': {
      if (len === 0) return b;
      const n = 1 + rng.int(8);
      for (let i = 0; i < n; i++) {
        const p = at();
        b[p] = b[p]! ^ (1 << rng.int(8));
      }
      return b;
    }
    case 'byte': {
      if (len === 0) return b;
      b[at()] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(256);
      return b;
    }
    case 'truncate':
      return b.subarray(0, rng.int(len + 1));
    case 'delete': {
      const p = at();
      const n = 1 + rng.int(Math.min(64, Math.max(1, len - p)));
      return Buffer.concat([b.subarray(0, p), b.subarray(p + n)]);
    }
    case 'duplicate': {
      const p = at();
      const n = 1 + rng.int(64);
      return Buffer.concat([b.subarray(0, p + n), b.subarray(p, p + n), b.subarray(p + n)]);
    }
    case 'splice': {
      const src = corpus.stream;
      const s = rng.int(src.length);
      const n = 1 + rng.int(Math.min(256, src.length - s));
      const p = rng.int(len + 1);
      return Buffer.concat([b.subarray(0, p), src.subarray(s, s + n), b.subarray(p)]);
    }
    case 'insert-random': {
      const p = rng.int(len + 1);
      return Buffer.concat([b.subarray(0, p), rng.bytes(1 + rng.int(32)), b.subarray(p)]);
    }
    case 'frame-size': {
      const st = starts();
      if (st.length === 0) return b;
      const f = rng.pick(st);
      if (f + 7 > len) return b;
      const old = b.readUInt32BE(f + 3);
      const v = rng.chance(0.5) ? rng.pick(INTERESTING_32) : (old + rng.int(17) - 8) >>> 0;
      b.writeUInt32BE(v >>> 0, f + 3);
      return b;
    }
    case 'frame-end': {
      const st = starts();
      if (st.length === 0) return b;
      const f = rng.pick(st);
      const end = f + 7 + b.readUInt32BE(f + 3);
      if (end < len) b[end] = rng.int(256);
      return b;
    }
    case 'frame-type': {
      const st = starts();
      if (st.length === 0) return b;
      b[rng.pick(st)] = rng.chance(0.7) ? rng.pick([1, 2, 3, 8]) : rng.int(256);
      return b;
    }
    case 'frame-channel': {
      const st = starts();
      if (st.length === 0) return b;
      const f = rng.pick(st);
      if (f + 3 <= len) b.writeUInt16BE(rng.chance(0.7) ? rng.int(4) : rng.int(0x10000), f + 1);
      return b;
    }
    case 'u32-at': {
      if (len < 4) return b;
      b.writeUInt32BE(rng.pick(INTERESTING_32) >>> 0, rng.int(len - 3));
      return b;
    }
    case 'u16-at': {
      if (len < 2) return b;
      b.writeUInt16BE(rng.chance(0.5) ? rng.pick([0, 1, 0xff, 0x100, 0x7fff, 0xffff, 10, 20, 40, 50, 60, 85]) : rng.int(0x10000), rng.int(len - 1));
      return b;
    }
    case 'drop-frame':
    case 'repeat-frame':
    case 'swap-frames': {
      const st = starts();
      if (st.length < 2) return b;
      const bounds = st.map((s, i) => [s, Math.min(len, st[i + 1] ?? len)] as const);
      const i = rng.int(bounds.length);
      const [s, e] = bounds[i]!;
      if (which === 'drop-frame') return Buffer.concat([b.subarray(0, s), b.subarray(e)]);
      if (which === 'repeat-frame') return Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)]);
      const j = rng.int(bounds.length);
      if (i === j) return b;
      const [x, y] = i < j ? [bounds[i]!, bounds[j]!] : [bounds[j]!, bounds[i]!];
      return Buffer.concat([b.subarray(0, x[0]), b.subarray(y[0], y[1]), b.subarray(x[1], y[0]), b.subarray(x[0], x[1]), b.subarray(y[1])]);
    }
  }
}

/** 1–4 stacked mutations. */
export function mutateMany(input: Buffer, rng: Rng, corpus: Corpus): { bytes: Buffer; applied: MutationName[] } {
  let bytes = input;
  const applied: MutationName[] = [];
  const n = 1 + rng.int(4);
  for (let i = 0; i < n; i++) {
    const m = rng.pick(MUTATIONS);
    applied.push(m);
    bytes = mutate(bytes, rng, corpus, m);
  }
  return { bytes, applied };
}

/** A stream of random frames: plausible headers, random payloads. */
export function randomFrames(rng: Rng, corpus: Corpus): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + rng.int(12);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.3)) {
      parts.push(rng.pick(corpus.frameBytes));
      continue;
    }
    const type = rng.chance(0.8) ? rng.pick([1, 2, 3, 8]) : rng.int(256);
    const channel = rng.chance(0.8) ? rng.int(3) : rng.int(0x10000);
    let payload: Buffer;
    if (type === 1 && rng.chance(0.8)) {
      const ids = Object.keys(METHOD_INFO).map(Number);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(rng.pick(ids) >>> 0);
      payload = Buffer.concat([head, rng.bytes(rng.int(48))]);
    } else if (type === 2 && rng.chance(0.8)) {
      const head = Buffer.alloc(14);
      head.writeUInt16BE(rng.chance(0.9) ? 60 : rng.int(0x10000), 0);
      head.writeBigUInt64BE(BigInt(rng.int(64)), 4);
      head.writeUInt16BE(rng.u32() & 0xfffd, 12);
      payload = Buffer.concat([head, rng.bytes(rng.int(64))]);
    } else {
      payload = rng.bytes(rng.int(64));
    }
    const f = Buffer.alloc(8 + payload.length);
    f[0] = type;
    f.writeUInt16BE(channel, 1);
    f.writeUInt32BE(payload.length, 3);
    payload.copy(f, 7);
    f[7 + payload.length] = rng.chance(0.95) ? 0xce : rng.int(256);
    parts.push(f);
  }
  return Buffer.concat(parts);
}

/** Split into chunks of random sizes (1 byte to all of it), as a socket might deliver them. */
export function chunk(bytes: Buffer, rng: Rng): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const n = rng.chance(0.3) ? 1 + rng.int(8) : 1 + rng.int(bytes.length - pos);
    out.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------

export type Level = 'frames' | 'client';

export interface CaseResult {
  readonly level: Level;
  readonly ok: boolean;
  /** Why the case failed. */
  readonly failure?: string;
  /** What the case fed (hex), for the failure file. */
  readonly input?: string;
  readonly mutations?: readonly string[];
  /** FrameError code the case ended with (0: none / socket end). */
  readonly code: number;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}${e.stack ? `\n${e.stack.split('\n').slice(1, 6).join('\n')}` : ''}`;
  return String(e);
}

/** A close (541, internal error) that stands for an exception the library did not classify. */
function isInternal(e: unknown): boolean {
  return e instanceof AmqpClosedConnection && (e.code === 541 || /internal error/.test(e.replyText));
}

// ---------------------------------------------------------------------------
// Level 'frames': FrameParser + decoders
// ---------------------------------------------------------------------------

/**
 * Feed `chunks` to a FrameParser (frame-max 4096 after a mutated-or-not
 * tune) and decode every frame the way the connection does; returns the
 * FrameError that stopped it, or null. Anything else thrown is a failure
 * (rethrown).
 */
export function runFrames(chunks: readonly Buffer[], maxPayload = 4096 - 8): FrameError | null {
  const reader = new Reader();
  const assemblers = new Map<number, ContentAssembler>();
  const assembler = (ch: number): ContentAssembler => {
    let a = assemblers.get(ch);
    if (a === undefined) {
      a = new ContentAssembler(ch, { onContent: () => undefined, onDelivery: () => undefined });
      assemblers.set(ch, a);
    }
    return a;
  };
  const parser = new FrameParser((type, channel, buf, start, end) => {
    reader.reset(buf, start, end);
    if (type === FRAME_METHOD) {
      const m = decodeMethod(reader);
      if (reader.pos !== end) throw new FrameError(`${end - reader.pos} bytes after the method`);
      if (channel !== 0) {
        const a = assembler(channel);
        if (a.busy) throw new FrameError('method while content expected', 505);
        if (METHOD_INFO[m.id].hasContent) a.start(m);
      }
    } else if (type === FRAME_HEADER) {
      const classId = reader.u16('class-id');
      reader.u16('weight');
      const size = reader.u64('body-size');
      if (size > 512 * 1024 * 1024) throw new FrameError('body too large');
      const props = decodeBasicProperties(reader);
      assembler(channel).header(classId, size, props);
    } else if (type === FRAME_BODY) {
      assembler(channel).bodyFrame(buf, start, end);
    }
  });
  parser.maxPayload = maxPayload;
  try {
    for (const c of chunks) parser.push(c);
  } catch (e) {
    if (e instanceof FrameError) return e;
    throw e;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Level 'client': a real AmqpProtocol over an in-memory socket
// ---------------------------------------------------------------------------

/** Just enough of net.Socket for the library's Link; writes go nowhere. */
export class MemorySocket extends EventEmitter {
  writable = true;
  destroyed = false;
  closed = false;
  writableLength = 0;
  bytesWritten = 0;

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    this.bytesWritten += chunk.length;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }
  end(): this {
    this.destroy();
    return this;
  }
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.writable = false;
    this.closed = true;
    queueMicrotask(() => this.emit('close', false));
    return this;
  }
  /** The peer's bytes arrive. */
  feed(chunk: Buffer): void {
    if (!this.destroyed) this.emit('data', chunk);
  }
}

/** The session both the capture and the replay run, one step per server segment. */
export interface SessionContext {
  p: AmqpProtocol;
  ch?: Channel;
  ch2?: Channel;
  ch3?: Channel;
  queue: string;
  delivered: number;
  returned: number;
}

export const EXCHANGE = 'amqp091-fuzz-exchange';
export const CONSUMER_TAG = 'amqp091-fuzz-consumer';

const HEADERS = {
  str: 'text',
  int8: -5,
  int16: 1000,
  int32: 100000,
  int64: 2 ** 40,
  big: 2n ** 62n,
  dbl: 1.5,
  bool: true,
  nil: null,
  date: new Date(1_700_000_000_000),
  bytes: Buffer.from([1, 2, 3]),
  arr: [1, 'two', [3], { four: 4 }],
  nested: { a: { b: { c: 'deep' } } },
};

const BODIES = ['', 'short', 'x'.repeat(5000), Buffer.alloc(9000, 7), 'é'.repeat(100)];

export interface Step {
  readonly name: string;
  /** Starts the step's calls; returns the promises to follow. */
  run(ctx: SessionContext): Promise<unknown>[];
}

export const STEPS: readonly Step[] = [
  { name: 'channel', run: (c) => [c.p.channel().then((ch) => (c.ch = ch))] },
  {
    name: 'channel2',
    run: (c) => [
      c.p.channel({ returnCallback: () => void c.returned++ }).then((ch) => (c.ch2 = ch)),
    ],
  },
  { name: 'qos', run: (c) => (c.ch ? [c.ch.basicQos({ prefetchCount: 10 })] : []) },
  {
    name: 'declare',
    run: (c) => (c.ch ? [c.ch.queueDeclare('', { exclusive: true }).then((r) => (c.queue = r.queue))] : []),
  },
  { name: 'exchange', run: (c) => (c.ch ? [c.ch.exchangeDeclare(EXCHANGE, 'topic', { autoDelete: true })] : []) },
  { name: 'bind', run: (c) => (c.ch ? [c.ch.queueBind(c.queue, EXCHANGE, 'k.#')] : []) },
  { name: 'confirm', run: (c) => (c.ch2 ? [c.ch2.confirmSelect()] : []) },
  {
    name: 'publish',
    run: (c) =>
      c.ch2
        ? BODIES.map((body, i) =>
            c.ch2!.publish(body, EXCHANGE, `k.${i}`, {
              contentType: 'text/plain',
              contentEncoding: 'utf-8',
              headers: { ...HEADERS, i },
              deliveryMode: 2,
              priority: i,
              correlationId: `corr-${i}`,
              replyTo: 'reply',
              expiration: '60000',
              messageId: `id-${i}`,
              timestamp: new Date(1_700_000_000_000),
              messageType: 'fuzz',
              appId: 'amqp091',
            }),
          )
        : [],
  },
  {
    name: 'return',
    run: (c) => (c.ch2 ? [c.ch2.publish('unroutable', EXCHANGE, 'nomatch', {}, { mandatory: true })] : []),
  },
  {
    name: 'consume',
    run: (c) =>
      c.ch
        ? [
            c.ch.basicConsume(
              (ch, _body, env) => {
                c.delivered++;
                ch.basicClientAck(env.deliveryTag);
              },
              { queueName: c.queue, consumerTag: CONSUMER_TAG },
            ),
          ]
        : [],
  },
  { name: 'cancel', run: (c) => (c.ch ? [c.ch.basicCancel(CONSUMER_TAG)] : []) },
  { name: 'publish-for-get', run: (c) => (c.ch2 ? [c.ch2.publish('for get', EXCHANGE, 'k.get', { messageId: 'g' })] : []) },
  { name: 'get', run: (c) => (c.ch ? [c.ch.basicGet(c.queue, { noAck: true })] : []) },
  { name: 'get-empty', run: (c) => (c.ch ? [c.ch.basicGet(c.queue, { noAck: true })] : []) },
  { name: 'channel3', run: (c) => [c.p.channel().then((ch) => (c.ch3 = ch))] },
  {
    name: 'channel-error',
    run: (c) => (c.ch3 ? [c.ch3.queueDeclare('amqp091-fuzz-no-such-queue', { passive: true })] : []),
  },
  { name: 'channel-close', run: (c) => (c.ch2 ? [c.ch2.close()] : []) },
  { name: 'close', run: (c) => [c.p.close({ timeout: 1000 })] },
];

/** The segment names, in order: 'connect' (start, tune, open-ok) then one per step. */
export const SEGMENT_NAMES: readonly string[] = ['connect', ...STEPS.map((s) => s.name)];

type Outcome = { state: 'pending' } | { state: 'resolved' } | { state: 'rejected'; error: unknown };

function follow(p: Promise<unknown>, into: Outcome[]): void {
  const o: { v: Outcome } = { v: { state: 'pending' } };
  const i = into.push(o.v) - 1;
  p.then(
    () => (into[i] = { state: 'resolved' }),
    (error: unknown) => (into[i] = { state: 'rejected', error }),
  );
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * Replay the session with the server's bytes `segments` (one per
 * SEGMENT_NAMES entry, possibly mutated), then drop the socket. Returns
 * null when every invariant held, else the reason.
 */
export async function runClient(segments: readonly Buffer[], rng: Rng): Promise<{ failure: string | null; code: number }> {
  const reports: Error[] = [];
  const p = new AmqpProtocol({ heartbeat: 0, frameMax: 4096, onError: (e) => void reports.push(e) });
  const sock = new MemorySocket();
  const outcomes: Outcome[] = [];
  const ctx: SessionContext = { p, queue: '', delivered: 0, returned: 0 };
  let opened = false;
  /** The session's own protocol.close() came while the connection was up: onError must stay silent. */
  let userClosedWhileUp = false;
  const feed = (bytes: Buffer | undefined): void => {
    if (bytes === undefined) return;
    for (const c of chunk(bytes, rng)) sock.feed(c);
  };
  try {
    const attach = p.attach(sock as unknown as Socket).then(() => (opened = true));
    follow(attach, outcomes);
    feed(segments[0]);
    await turn();
    for (let i = 0; i < STEPS.length; i++) {
      if (STEPS[i]!.name === 'close') userClosedWhileUp = p.state === 'open' || p.state === 'closing';
      let started: Promise<unknown>[] = [];
      try {
        started = STEPS[i]!.run(ctx);
      } catch (e) {
        return { failure: `step ${STEPS[i]!.name} threw synchronously: ${describe(e)}`, code: 0 };
      }
      for (const s of started) follow(s, outcomes);
      feed(segments[i + 1]);
      await turn();
    }
    // Whatever is left of the stream (a mutation may have lengthened it).
    for (let i = SEGMENT_NAMES.length; i < segments.length; i++) feed(segments[i]);
    await turn();
  } catch (e) {
    return { failure: `the client threw out of its socket handler: ${describe(e)}`, code: 0 };
  }
  // The server goes away.
  sock.destroy();
  for (let i = 0; i < 4; i++) await turn();

  if (p.state !== 'closed') return { failure: `protocol state ${p.state} after the socket closed`, code: 0 };
  const closeError = p.closeError;
  if (closeError === null) return { failure: 'closed without a closeError', code: 0 };
  if (isInternal(closeError)) return { failure: `internal error ended the connection: ${describe(closeError.cause ?? closeError)}`, code: 541 };
  for (const o of outcomes) {
    if (o.state === 'pending') return { failure: 'a call is still pending after the connection closed', code: closeError.code };
    if (o.state === 'rejected') {
      if (!(o.error instanceof AmqpError)) return { failure: `a call rejected with a non-AmqpError: ${describe(o.error)}`, code: closeError.code };
      if (isInternal(o.error)) return { failure: `a call rejected with an internal error: ${describe(o.error)}`, code: closeError.code };
    }
  }
  const ends = reports.filter((e) => e instanceof AmqpClosedConnection);
  for (const e of reports) {
    if (!(e instanceof AmqpError)) return { failure: `onError got a non-AmqpError: ${describe(e)}`, code: closeError.code };
  }
  const expectedEnds = opened && !userClosedWhileUp ? 1 : 0;
  if (ends.length !== expectedEnds) {
    return { failure: `onError heard the end of the connection ${ends.length} times (expected ${expectedEnds}): ${ends.map((e) => e.message).join(' | ')}`, code: closeError.code };
  }
  if (ends.length === 1 && ends[0] !== closeError) return { failure: 'onError got another error than closeError', code: closeError.code };
  return { failure: null, code: closeError instanceof FrameError ? closeError.code : 0 };
}

// ---------------------------------------------------------------------------
// One case
// ---------------------------------------------------------------------------

/** The PRNG of case `index` of a campaign with `seed`. */
export function caseRng(seed: number, index: number): Rng {
  return new Rng(seed, index);
}

/** Run case `index`; `clientShare` of the cases are client-level. */
export async function runCase(corpus: Corpus, seed: number, index: number, clientShare = 0.25): Promise<CaseResult> {
  const rng = caseRng(seed, index);
  if (rng.chance(clientShare)) {
    // Mutate the whole server stream, then cut it again at the recorded step boundaries.
    const { bytes, applied } = rng.chance(0.05) ? { bytes: corpus.stream, applied: ['none'] } : mutateMany(corpus.stream, rng, corpus);
    const segments: Buffer[] = [];
    let pos = 0;
    for (let i = 0; i < corpus.segments.length; i++) {
      const want = corpus.segments[i]!.length;
      const end = i === corpus.segments.length - 1 ? bytes.length : Math.min(bytes.length, pos + want);
      segments.push(bytes.subarray(pos, end));
      pos = end;
    }
    const { failure, code } = await runClient(segments, rng);
    return failure === null
      ? { level: 'client', ok: true, code }
      : { level: 'client', ok: false, failure, input: bytes.toString('hex'), mutations: applied, code };
  }
  let bytes: Buffer;
  let applied: string[];
  const r = rng.int(10);
  if (r < 2) {
    bytes = randomFrames(rng, corpus);
    applied = ['random-frames'];
  } else if (r < 3) {
    bytes = rng.bytes(rng.int(200));
    applied = ['random-bytes'];
  } else {
    // A window of the stream (whole frames) or all of it, mutated.
    const f = corpus.frames;
    const a = rng.int(f.length);
    const b = Math.min(f.length, a + 1 + rng.int(12));
    const base = rng.chance(0.2) ? corpus.stream : corpus.stream.subarray(f[a]!.start, f[b - 1]!.end);
    ({ bytes, applied } = mutateMany(base, rng, corpus));
  }
  try {
    const err = runFrames(chunk(bytes, rng));
    return { level: 'frames', ok: true, code: err?.code ?? 0 };
  } catch (e) {
    return { level: 'frames', ok: false, failure: `non-FrameError from the frame layer: ${describe(e)}`, input: bytes.toString('hex'), mutations: applied, code: 0 };
  }
}
