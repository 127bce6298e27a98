// Heartbeat: sends a heartbeat frame when nothing was sent for half the
// negotiated interval, and declares the peer dead when nothing arrived for
// two intervals. One unref'd timer ticks often enough that detection
// happens within 2h + 0.5 s.

import { AmqpClosedConnection } from './errors.js';

export interface HeartbeatHooks {
  /** Milliseconds timestamp of the last write to the peer. */
  lastSent(): number;
  /** Milliseconds timestamp of the last bytes received from the peer. */
  lastReceived(): number;
  send(): void;
  /** Nothing arrived for two intervals: the connection is dead, with this error. */
  dead(err: AmqpClosedConnection): void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Negotiated interval in seconds (> 0). */
    readonly seconds: number,
    private readonly hooks: HeartbeatHooks,
  ) {}

  start(): void {
    if (this.timer !== null || this.seconds <= 0) return;
    const tick = Math.min(500, this.seconds * 250);
    this.timer = setInterval(this.tick, tick);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private readonly tick = (): void => {
    const now = Date.now();
    const h = this.seconds * 1000;
    const silent = now - this.hooks.lastReceived();
    if (silent >= 2 * h) {
      this.stop();
      this.hooks.dead(
        new AmqpClosedConnection({
          code: 0,
          replyText: `missed heartbeats: nothing received from the server for ${silent} ms (heartbeat ${this.seconds} s)`,
        }),
      );
      return;
    }
    if (now - this.hooks.lastSent() >= h / 2) this.hooks.send();
  };
}
