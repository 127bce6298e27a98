// Pacing and windows for repeated publishes (publish --count/--rate, perf).

import { sleep } from './io.js';

/** Keeps a sender at `rate` messages per second (0 = unlimited) from the moment it is made. */
export class Pacer {
  private readonly start = performance.now();
  constructor(private readonly rate: number) {}

  /** Wait until message number `sent` (0-based) is due; yields to the event loop now and then when unlimited. */
  async due(sent: number): Promise<void> {
    if (this.rate <= 0) return;
    const at = this.start + (sent * 1000) / this.rate;
    const wait = at - performance.now();
    if (wait > 1) await sleep(wait);
  }
}

/**
 * At most `size` promises in flight: `add` waits for room first. Counts
 * settlements; the first rejection is kept and rethrown by `drain`.
 */
export class Window {
  private inFlight = 0;
  private wake: (() => void) | null = null;
  private error: unknown = null;
  settled = 0;
  failed = 0;

  constructor(
    private readonly size: number,
    private readonly onSettled: (ok: boolean, err: unknown) => void = () => undefined,
  ) {}

  async add(start: () => Promise<void>): Promise<void> {
    while (this.inFlight >= this.size) await new Promise<void>((r) => (this.wake = r));
    this.inFlight++;
    start().then(
      () => this.settle(true, null),
      (err: unknown) => this.settle(false, err),
    );
  }

  private settle(ok: boolean, err: unknown): void {
    this.inFlight--;
    this.settled++;
    if (!ok) {
      this.failed++;
      if (this.error === null) this.error = err;
    }
    this.onSettled(ok, err);
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The first failure so far, if any. */
  get firstError(): unknown {
    return this.error;
  }

  /** Wait until nothing is in flight. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => (this.wake = r));
  }
}
