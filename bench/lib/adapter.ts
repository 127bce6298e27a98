import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppProps } from './props.js';

// The one interface every benchmarked client implements. A client is one file
// in bench/adapters/<name>.ts whose default export is an `Adapter`; the runner
// discovers the directory, so adding a client means adding that file.

export interface PublishOptions {
  /** Put the channel in confirm mode and wait for every ack. */
  confirm: boolean;
  /**
   * Most messages allowed in flight: unconfirmed ones with confirms (1000), or
   * publish promises not yet settled without (clients whose back-pressure
   * signal is a promise). Clients that signal with a boolean + 'drain' use
   * that instead when not confirming.
   */
  window: number;
  /** Realistic properties (bench/lib/props.ts): message i carries props[i % props.length]. */
  props?: AppProps[];
}

export interface ConsumeOptions {
  noAck: boolean;
  /** basic.qos prefetch-count, used when acking. */
  prefetch: number;
  /** Read the message id of each delivery, as an application would (the props scenarios). */
  readProps?: boolean;
}

/** Channels opened by `openChannels`, idle until used. */
export interface ChannelSet {
  /** One publish of body to queue on every channel; resolves once all are handed to the transport. */
  publishEach(queue: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** The header that carries the publish time (µs on the worker's monotonic clock, int32). */
export const TS_HEADER = 'x-ts';

export interface BenchClient {
  /**
   * Publish n copies of body to `queue` through the default exchange. Resolves
   * when every message has been handed to the client's transport (no confirms)
   * or confirmed by the broker (confirms).
   */
  publish(queue: string, body: Buffer, n: number, o: PublishOptions): Promise<void>;
  /** Consume n messages from `queue` (acking each one unless noAck); resolves at the n-th. */
  consume(queue: string, n: number, o: ConsumeOptions): Promise<void>;
  /**
   * Prepare an RPC client that sends requests to `queue` with reply-to
   * `amq.rabbitmq.reply-to`; the returned function makes one call and resolves
   * with the reply body.
   */
  rpc(queue: string): Promise<(body: Buffer) => Promise<unknown>>;
  /** Open k channels on this connection (all requested at once). */
  openChannels(k: number): Promise<ChannelSet>;
  /**
   * Consume every queue on its own channel (basic.qos prefetch, ack each) and
   * open one more channel to publish on (untimed set-up); the returned go()
   * publishes n messages round-robin over the queues, at most `window` in
   * flight, and resolves at the n-th delivery.
   */
  manyQueues(queues: string[], body: Buffer, n: number, o: { prefetch: number; window: number }): Promise<() => Promise<void>>;
  /**
   * Consume `queue` (no-ack) calling onTs with each delivery's TS_HEADER,
   * and return a function that publishes body to `queue` with TS_HEADER = ts.
   */
  latency(queue: string, body: Buffer, onTs: (ts: number) => void): Promise<(ts: number) => void>;
  close(): Promise<void>;
}

export interface Adapter {
  /** The name in tables and --only; defaults to the file name. */
  name: string;
  /** A short description for the report: version and API used. */
  describe(): string;
  /** The scenario ids it runs (default: every scenario). */
  scenarios?: readonly string[];
  connect(url: string): Promise<BenchClient>;
}

/**
 * Drive a promise-returning send with at most `window` unsettled promises.
 * Shared by every promise-based client so they are paced identically: it
 * refills when in-flight drops to half the window.
 */
export async function pipeline(n: number, window: number, send: () => Promise<unknown>): Promise<void> {
  let inflight = 0;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  let low = Math.max(0, Math.floor(window / 2));
  const settle = (): void => {
    inflight--;
    if (wake !== null && inflight <= low) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const fail = (e: unknown): void => {
    if (failure === null) failure = e ?? new Error('publish failed');
    settle();
  };
  for (let i = 0; i < n; i++) {
    if (inflight >= window) {
      await new Promise<void>((r) => (wake = r));
      if (failure !== null) throw failure;
    }
    inflight++;
    send().then(settle, fail);
  }
  low = 0;
  while (inflight > 0) await new Promise<void>((r) => (wake = r));
  if (failure !== null) throw failure;
}

/**
 * Call send(i) for i in 0..n-1 at `rate` per second (a timer every ms
 * catching up to the schedule), resolving after the last. Shared by every
 * client so the load is identical.
 */
export async function paced(n: number, rate: number, send: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  let i = 0;
  while (i < n) {
    const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (i < due) send(i++);
    if (i < n) await new Promise((r) => setTimeout(r, 1));
  }
}

/** Counts deliveries towards n and settles once all arrived (shared by the many-queues drivers). */
export class Countdown {
  private got = 0;
  readonly done: Promise<void>;
  private resolve!: () => void;
  constructor(private readonly n: number) {
    this.done = new Promise<void>((r) => (this.resolve = r));
  }
  tick(): void {
    if (++this.got === this.n) this.resolve();
  }
}

/** Correlation-id based RPC on top of any client: one pending map, one reply consumer. */
export class Pending {
  private seq = 0;
  private map = new Map<string, (b: unknown) => void>();
  next(resolve: (b: unknown) => void): string {
    const id = (++this.seq).toString(36);
    this.map.set(id, resolve);
    return id;
  }
  settle(id: string | undefined, body: unknown): void {
    if (id === undefined) return;
    const r = this.map.get(id);
    if (r !== undefined) {
      this.map.delete(id);
      r(body);
    }
  }
}

/** The installed version of a package (walks up from its resolved entry). */
export function pkgVersion(name: string): string {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve(name));
    for (;;) {
      const f = path.join(dir, 'package.json');
      if (existsSync(f)) {
        const p = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
        if (p.name === name) return p.version ?? '?';
      }
      const up = path.dirname(dir);
      if (up === dir) return '?';
      dir = up;
    }
  } catch {
    return '?';
  }
}
