// Helpers shared by the reliability tests (issue 4): leak checks, promise
// bookkeeping, and finding our connection on the broker.
import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';
import { rabbitmqctl, sleep } from '../support/broker.js';

export { AMQP_URL, BROKER_HOST, BROKER_PORT, LOCAL_BROKER, closeIfOpen, rabbitmqctl, sleep, uniqueName, waitFor, rejectionOf } from '../support/broker.js';

export const WATERMARK = process.env.RABBITMQ_MEMORY_WATERMARK ?? '0.4';

// ---------------------------------------------------------------------------
// Leaks
// ---------------------------------------------------------------------------

/** Handle kinds we follow through async_hooks (unref'd timers do not show in getActiveResourcesInfo). */
const TRACKED = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'TLSWRAP', 'PIPEWRAP']);

function countBy(list: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of list) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** What `now` has beyond `base` (by resource kind). */
function excess(base: readonly string[], now: readonly string[]): string[] {
  const b = countBy(base);
  const out: string[] = [];
  for (const [k, n] of countBy(now)) {
    const extra = n - (b.get(k) ?? 0);
    if (extra > 0) out.push(`${k} x${extra}`);
  }
  return out;
}

export interface LeakCheck {
  /**
   * Waits (up to `graceMs`) for every handle opened since the check started
   * to be released, then fails the test with what is left: the
   * getActiveResourcesInfo() excess over the baseline, and (async_hooks)
   * timers or sockets created since the baseline and never destroyed,
   * unref'd or not.
   */
  assertClean(graceMs?: number): Promise<void>;
  stop(): void;
}

/** Take a baseline of the process's live handles (call at the start of a test). */
export function startLeakCheck(): LeakCheck {
  const baseline = process.getActiveResourcesInfo();
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (TRACKED.has(type)) live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  let stopped = false;
  const stop = (): void => {
    if (!stopped) hook.disable();
    stopped = true;
  };
  return {
    stop,
    async assertClean(graceMs = 1500) {
      const until = Date.now() + graceMs;
      let extra: string[] = [];
      let created: string[] = [];
      for (;;) {
        await new Promise((r) => setImmediate(r));
        extra = excess(baseline, process.getActiveResourcesInfo());
        created = [...live.values()];
        if ((extra.length === 0 && created.length === 0) || Date.now() > until) break;
        await sleep(25);
      }
      stop();
      expect(extra, 'handles alive beyond the baseline (process.getActiveResourcesInfo)').toEqual([]);
      expect(created, 'timers/sockets created during the test and never released (async_hooks)').toEqual([]);
    },
  };
}

/** A full GC (exposes gc() for this process if it is not already). */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

// ---------------------------------------------------------------------------
// Promise bookkeeping
// ---------------------------------------------------------------------------

export type Settled = { state: 'pending' } | { state: 'resolved'; value: unknown } | { state: 'rejected'; error: unknown };

/** Follow a promise's outcome without awaiting it (and without leaving a rejection unhandled). */
export function track(p: Promise<unknown>): { readonly outcome: Settled; readonly done: Promise<void> } {
  const box: { outcome: Settled; done: Promise<void> } = { outcome: { state: 'pending' }, done: Promise.resolve() };
  box.done = p.then(
    (value) => void (box.outcome = { state: 'resolved', value }),
    (error: unknown) => void (box.outcome = { state: 'rejected', error }),
  );
  return box;
}

/** Lets everything already settled run its continuations. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

// ---------------------------------------------------------------------------
// The broker
// ---------------------------------------------------------------------------

/** The broker's pid for the connection that sent `connection_name` = name (rabbitmqctl). */
export async function connectionPid(name: string, timeout = 10_000): Promise<string> {
  const until = Date.now() + timeout;
  for (;;) {
    const listing = await rabbitmqctl('list_connections', 'pid', 'client_properties', '-q', '--no-table-headers');
    const line = listing.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
    if (line !== undefined) return line.split('\t')[0]!;
    if (Date.now() > until) throw new Error(`connection '${name}' not found on the broker`);
    await sleep(200);
  }
}

/** How many channels the broker has open on the named connection. */
export async function brokerChannelCount(name: string): Promise<number> {
  const listing = await rabbitmqctl('list_connections', 'channels', 'client_properties', '-q', '--no-table-headers');
  const line = listing.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
  if (line === undefined) throw new Error(`connection '${name}' not found on the broker`);
  return Number(line.split('\t')[0]);
}

// ---------------------------------------------------------------------------
// A tap on the bytes the client receives (independent of the library's parser)
// ---------------------------------------------------------------------------

export interface ConfirmTap {
  /** Every delivery tag the broker acked on the channel (multiple expanded over `published`). */
  readonly acked: Set<number>;
  readonly nacked: Set<number>;
  /** basic.ack / basic.nack frames seen. */
  readonly frames: number;
}

/**
 * Listens to a socket's 'data' (next to the client's own listener) and
 * records basic.ack / basic.nack (60/80, 60/120) on `channel`. `multiple`
 * expands down to the lowest tag not yet settled. Stops at the first
 * incomplete frame when the socket dies.
 */
export function tapConfirms(socket: NodeJS.EventEmitter, channel: number): ConfirmTap {
  const acked = new Set<number>();
  const nacked = new Set<number>();
  let frames = 0;
  let buf: Buffer = Buffer.alloc(0);
  let low = 1; // lowest tag not yet settled by the tap
  const settle = (into: Set<number>, tag: number, multiple: boolean): void => {
    if (!multiple) {
      into.add(tag);
    } else {
      for (let t = low; t <= tag; t++) if (!acked.has(t) && !nacked.has(t)) into.add(t);
    }
    while (acked.has(low) || nacked.has(low)) low++;
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let pos = 0;
    while (buf.length - pos >= 8) {
      const type = buf[pos]!;
      const ch = buf.readUInt16BE(pos + 1);
      const size = buf.readUInt32BE(pos + 3);
      if (buf.length - pos < 8 + size) break;
      if (type === 1 && ch === channel && size >= 13) {
        const cls = buf.readUInt16BE(pos + 7);
        const m = buf.readUInt16BE(pos + 9);
        if (cls === 60 && (m === 80 || m === 120)) {
          frames++;
          const tag = Number(buf.readBigUInt64BE(pos + 11));
          const multiple = (buf[pos + 19]! & 1) === 1;
          settle(m === 80 ? acked : nacked, tag, multiple);
        }
      }
      pos += 8 + size;
    }
    buf = buf.subarray(pos);
  });
  return {
    acked,
    nacked,
    get frames() {
      return frames;
    },
  };
}
