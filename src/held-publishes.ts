// HeldPublishes: publishes that wait while the broker blocks the
// connection (connection.blocked), while the broker paused their channel
// (channel.flow active=false), or while recovery brings the link back.
// One queue and one byte budget per connection for all three (API.md
// "Bounded memory while waiting"): a publish past maxHeldBytes is refused
// at once with PublishBufferFull. Each publish is held with its channel
// (its owner); a release runs, in the order they were made, those whose
// channel is not paused, and keeps the others in order for later.

import { PublishBufferFull } from './errors.js';

/** The channel a held publish belongs to. */
export interface HoldOwner {
  /** False while the broker has paused the channel's publishes (channel.flow). */
  readonly flowActive: boolean;
}

interface Held {
  bytes: number;
  run: () => void;
  fail: (err: Error) => void;
  owner: HoldOwner;
}

export class HeldPublishes {
  private held: Held[] = [];
  /** Body bytes held now. */
  bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Throws `PublishBufferFull`, holding nothing, when `bytes` more would pass the limit. */
  hold(bytes: number, run: () => void, fail: (err: Error) => void, owner: HoldOwner): void {
    if (this.bytes + bytes > this.maxBytes) {
      throw new PublishBufferFull(`${this.bytes + bytes} bytes of held publishes would exceed maxHeldBytes (${this.maxBytes})`);
    }
    this.bytes += bytes;
    this.held.push({ bytes, run, fail, owner });
  }

  /** Run, in the order they were made, every held publish whose channel is not paused; keep the rest. */
  release(): void {
    if (this.held.length === 0) return;
    const all = this.held;
    const ready: Held[] = [];
    const kept: Held[] = [];
    let keptBytes = 0;
    for (const h of all) {
      if (h.owner.flowActive) ready.push(h);
      else {
        kept.push(h);
        keptBytes += h.bytes;
      }
    }
    this.held = kept;
    this.bytes = keptBytes;
    for (const h of ready) h.run();
  }

  /** The publish whose `run` this is gave up waiting (timeout, abort): it is never sent. */
  drop(run: () => void): void {
    const i = this.held.findIndex((h) => h.run === run);
    if (i < 0) return;
    this.bytes -= this.held[i]!.bytes;
    this.held.splice(i, 1);
  }

  /** Fail the publishes held for `owner` (its channel ended), in order. */
  failOwner(owner: HoldOwner, err: Error): void {
    if (!this.held.some((h) => h.owner === owner)) return;
    const mine = this.held.filter((h) => h.owner === owner);
    this.held = this.held.filter((h) => h.owner !== owner);
    for (const h of mine) this.bytes -= h.bytes;
    for (const h of mine) h.fail(err);
  }

  failAll(err: Error): void {
    const held = this.held;
    this.held = [];
    this.bytes = 0;
    for (const h of held) h.fail(err);
  }
}
