// HeldPublishes: publishes that wait while the broker blocks the
// connection (connection.blocked), run in order once it unblocks, or
// fail together when the connection ends.

interface Held {
  run: () => void;
  fail: (err: Error) => void;
}

export class HeldPublishes {
  private held: Held[] = [];

  hold(run: () => void, fail: (err: Error) => void): void {
    this.held.push({ run, fail });
  }

  /** Run every held publish, in the order they were made. */
  release(): void {
    const held = this.take();
    for (const h of held) h.run();
  }

  failAll(err: Error): void {
    const held = this.take();
    for (const h of held) h.fail(err);
  }

  private take(): Held[] {
    const held = this.held;
    this.held = [];
    return held;
  }
}
