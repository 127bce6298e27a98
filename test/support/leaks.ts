// Is anything left alive? Counts of the process's live handles, a leak check
// that fails a test for every timer or socket it leaves behind, and a full GC.
import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';
import { sleep } from './async.js';

/** Count of libuv handles of the kinds a connection uses. */
export function liveHandles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length,
    timers: info.filter((r) => r === 'Timeout' || r === 'Immediate').length,
  };
}

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

/** The process's active resources (getActiveResourcesInfo), counted by kind: a baseline for leakedSince. */
export function handleCounts(): Map<string, number> {
  return countBy(process.getActiveResourcesInfo());
}

/** Resource kinds (TCP handles, timers...) more numerous now than in `baseline`, e.g. "TCPSocketWrap x1". */
export function leakedSince(baseline: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, v] of handleCounts()) if (v > (baseline.get(k) ?? 0)) out.push(`${k} x${v - (baseline.get(k) ?? 0)}`);
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
