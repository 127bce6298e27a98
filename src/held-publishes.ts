// HeldPublishes: publishes that wait while the broker blocks the
// connection (connection.blocked) or while recovery brings the link back,
// run in order once nothing holds them, or fail together when the
// connection ends. Their bodies are bounded by maxHeldBytes: one past it
// is refused at once with PublishBufferFull.

import { PublishBufferFull } from './errors.js';

interface Held {
  bytes: number;
  run: () => void;
  fail: (err: Error) => void;
}

export class HeldPublishes {
  private held: Held[] = [];
  /** Body bytes held now. */
  bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Throws `PublishBufferFull`, holding nothing, when `bytes` more would pass the limit. */
  hold(bytes: number, run: () => void, fail: (err: Error) => void): void {
    if (this.bytes + bytes > this.maxBytes) {
      throw new PublishBufferFull(`${this.bytes + bytes} bytes of held publishes would exceed maxHeldBytes (${this.maxBytes})`);
    }
    this.bytes += bytes;
    this.held.push({ bytes, run, fail });
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
    this.bytes = 0;
    return held;
  }
}
