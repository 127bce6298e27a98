// Fifo: first in, first out, on a ring of slots that doubles when full.
// Consumers buffer every delivery that arrives ahead of its handler: a
// ring reuses its slots, where an array with a moving head (or shift())
// regrows or copies its backing store burst after burst.

/** The ring's size when it starts, and what it shrinks back to once empty. */
const MIN_SLOTS = 16;
/** An emptied ring larger than this goes back to MIN_SLOTS (a past burst does not pin its memory). */
const KEEP_SLOTS = 4096;

export class Fifo<T> {
  private slots: (T | undefined)[] = new Array<T | undefined>(MIN_SLOTS);
  /** Index of the oldest entry. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
  }

  /** The oldest entry, taken out; undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    // Emptied: start over at slot 0, and let a ring a past burst grew go.
    if (--this.count === 0) {
      this.head = 0;
      if (this.slots.length > KEEP_SLOTS) this.slots = new Array<T | undefined>(MIN_SLOTS);
    }
    return item;
  }

  /** Every entry, oldest first; the fifo is empty afterwards. */
  drain(): T[] {
    const out: T[] = new Array<T>(this.count);
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.count; i++) out[i] = this.slots[(this.head + i) & mask]!;
    this.slots = new Array<T | undefined>(MIN_SLOTS);
    this.head = 0;
    this.count = 0;
    return out;
  }

  private grow(): void {
    const old = this.slots;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.slots = next;
    this.head = 0;
  }
}
