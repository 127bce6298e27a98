// FakeBroker's scripted mode: each accepted connection runs the test's
// script, which reads the client's frames and writes whatever bytes it
// likes (a handshake, then a fault no real broker would send). Built on the
// raw wire builders and readers only, like them independent of the client's
// codecs.

import type { Socket } from 'node:net';
import {
  FRAME_END,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  connectionOpenOk,
  connectionStart,
  connectionTune,
  frame,
  methodFrame,
  type StartOptions,
  type TuneOptions,
} from './wire-build.js';
import { parseOpen, parseStartOk, parseTuneOk, toFrame, type Frame, type Open, type StartOk, type TuneOk } from './wire-parse.js';

/** How long a scripted connection waits for the client's protocol header before it gives up on the client. */
const HEADER_WAIT = 10_000;

/** What `ScriptedConnection.handshake()` sends: connection.start and connection.tune arguments. */
export interface HandshakeOptions extends StartOptions, TuneOptions {}

/** What the client answered during `ScriptedConnection.handshake()`. */
export interface HandshakeResult {
  /** Its connection.start-ok. */
  readonly startOk: StartOk;
  /** Its connection.tune-ok. */
  readonly tuneOk: TuneOk;
  /** Its connection.open. */
  readonly open: Open;
}

/** Options of `ScriptedConnection.nextFrame()` and `expectMethod()`. */
export interface NextFrameOptions {
  /** How long to wait, in ms; default 5000. */
  readonly timeout?: number;
  /** Skip heartbeat frames (default false for nextFrame, true for expectMethod). */
  readonly skipHeartbeats?: boolean;
}

/** One client connection to a scripted FakeBroker, as its script sees it. */
export interface ScriptedConnection {
  /** The socket to the client. */
  readonly socket: Socket;
  /** The 8 bytes the client sent first. */
  readonly header: Buffer;
  /** Write raw bytes (anything at all). Resolves once handed to the OS; never rejects. */
  send(bytes: Uint8Array | string): Promise<void>;
  /** Write one frame with this type, channel and payload. */
  sendFrame(type: number, channel: number, payload: Uint8Array): Promise<void>;
  /** Write one method frame; `args` are the encoded arguments (see the `wire` builders). */
  sendMethod(channel: number, classId: number, methodId: number, args?: Uint8Array): Promise<void>;
  /** The next whole frame the client sent. Rejects on timeout, on a malformed frame, or when the socket closes first. */
  nextFrame(o?: NextFrameOptions): Promise<Frame>;
  /** The next frame, which must be the given method (heartbeats skipped); rejects otherwise. */
  expectMethod(classId: number, methodId: number, o?: NextFrameOptions): Promise<Frame>;
  /** start → start-ok, tune → tune-ok, open → open-ok: the client is then open. */
  handshake(o?: HandshakeOptions): Promise<HandshakeResult>;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<{
    /** Whether it ended with an error such as ECONNRESET. */
    reset: boolean;
  }>;
  /** Whether the socket has closed. */
  readonly isClosed: boolean;
  /** Graceful end (FIN). */
  end(): void;
  /** Destroy the socket (abrupt). */
  close(): void;
}

/** A FakeBroker script: what the broker does with one client connection (after its protocol header). */
export type Script = (conn: ScriptedConnection) => Promise<void> | void;

class Scripted implements ScriptedConnection {
  header: Buffer = Buffer.alloc(0);
  readonly closed: Promise<{ reset: boolean }>;
  isClosed = false;
  private buffered: Buffer = Buffer.alloc(0);
  private wakers: (() => void)[] = [];
  private failure: Error | undefined;

  constructor(readonly socket: Socket) {
    let hadError = false;
    socket.on('error', () => {
      hadError = true;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (err) => {
        this.isClosed = true;
        this.poke();
        resolve({ reset: err || hadError });
      });
    });
    socket.on('data', (d: Buffer) => {
      this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
      this.poke();
    });
  }

  private poke(): void {
    const ws = this.wakers;
    this.wakers = [];
    for (const w of ws) w();
  }

  /** Waits until `take` returns a value, more data arrives, the socket closes or the timeout passes. */
  private async waitFor<T>(take: () => T | undefined, timeout: number, what: string): Promise<T> {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (this.failure) throw this.failure;
      const v = take();
      if (v !== undefined) return v;
      if (this.isClosed) throw new Error(`FakeBroker: socket closed while waiting for ${what} (${this.buffered.length} bytes pending)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`FakeBroker: timeout waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.wakers = this.wakers.filter((w) => w !== wake);
          resolve();
        }, left);
        this.wakers.push(wake);
      });
    }
  }

  async readHeader(timeout: number): Promise<void> {
    this.header = await this.waitFor(
      () => {
        if (this.buffered.length < 8) return undefined;
        const h = this.buffered.subarray(0, 8);
        this.buffered = this.buffered.subarray(8);
        return h;
      },
      timeout,
      'the protocol header',
    );
  }

  private takeFrame(): Frame | undefined {
    const b = this.buffered;
    if (b.length < 7) return undefined;
    const size = b.readUInt32BE(3);
    if (b.length < 7 + size + 1) return undefined;
    const end = b[7 + size];
    if (end !== FRAME_END) {
      this.failure = new Error(`FakeBroker: client sent a frame with frame-end 0x${(end ?? 0).toString(16)}`);
      throw this.failure;
    }
    const f = toFrame(b.readUInt8(0), b.readUInt16BE(1), Buffer.from(b.subarray(7, 7 + size)));
    this.buffered = b.subarray(8 + size);
    return f;
  }

  nextFrame(o: NextFrameOptions = {}): Promise<Frame> {
    const skip = o.skipHeartbeats ?? false;
    return this.waitFor(
      () => {
        for (;;) {
          const f = this.takeFrame();
          if (f === undefined) return undefined;
          if (skip && f.type === FRAME_HEARTBEAT) continue;
          return f;
        }
      },
      o.timeout ?? 5000,
      'a frame',
    );
  }

  async expectMethod(classId: number, methodId: number, o: NextFrameOptions = {}): Promise<Frame> {
    const f = await this.nextFrame({ skipHeartbeats: true, ...o });
    if (f.type !== FRAME_METHOD || f.classId !== classId || f.methodId !== methodId) {
      throw new Error(
        `FakeBroker: expected method ${classId}/${methodId}, got frame type ${f.type} channel ${f.channel}` +
          (f.type === FRAME_METHOD ? ` method ${f.classId}/${f.methodId}` : ''),
      );
    }
    return f;
  }

  send(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  sendFrame(type: number, channel: number, payload: Uint8Array): Promise<void> {
    return this.send(frame(type, channel, payload));
  }

  sendMethod(channel: number, classId: number, methodId: number, args?: Uint8Array): Promise<void> {
    return this.send(methodFrame(channel, classId, methodId, args));
  }

  async handshake(o: HandshakeOptions = {}): Promise<HandshakeResult> {
    await this.send(connectionStart(o));
    const startOk = parseStartOk(await this.expectMethod(10, 11));
    await this.send(connectionTune(o));
    const tuneOk = parseTuneOk(await this.expectMethod(10, 31));
    const open = parseOpen(await this.expectMethod(10, 40));
    await this.send(connectionOpenOk());
    return { startOk, tuneOk, open };
  }

  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * The scripted connections of one FakeBroker. For each accepted socket: read
 * the 8-byte protocol header, then run the script. A script that throws
 * crashes nothing: its error is kept for `settled()`/`errors` and its
 * socket destroyed. A client that never sends a whole header runs no script.
 */
export class ScriptRuns {
  /** The connections whose header was read, in accept order. */
  readonly connections: ScriptedConnection[] = [];
  /** What scripts threw, in the order they failed. */
  readonly errors: unknown[] = [];
  private readonly runs: Promise<void>[] = [];
  private readonly sockets = new Map<Socket, Promise<void>>();

  constructor(private readonly script: Script) {}

  accept(socket: Socket): void {
    socket.setNoDelay(true);
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.sockets.set(socket, gone);
    void gone.then(() => this.sockets.delete(socket));
    const conn = new Scripted(socket);
    const run = (async () => {
      try {
        await conn.readHeader(HEADER_WAIT);
      } catch {
        socket.destroy();
        return; // the client never sent a header: nothing to script
      }
      this.connections.push(conn);
      try {
        await this.script(conn);
      } catch (err) {
        this.errors.push(err);
        socket.destroy();
        throw err;
      }
    })();
    // Kept for settled(); marked handled so a failing script is never an unhandled rejection.
    run.catch(() => undefined);
    this.runs.push(run);
  }

  /** Waits for every script started so far, and for those started meanwhile; rethrows the first failure. */
  async settled(): Promise<void> {
    let seen = 0;
    while (seen < this.runs.length) {
      const batch = this.runs.slice(seen);
      seen = this.runs.length;
      await Promise.all(batch);
    }
  }

  /** Destroy every socket; resolves once they closed and every script has ended. Never rejects. */
  async end(): Promise<void> {
    const gone = [...this.sockets.values()];
    for (const s of this.sockets.keys()) s.destroy();
    await Promise.all(gone);
    await Promise.allSettled(this.runs);
  }
}
