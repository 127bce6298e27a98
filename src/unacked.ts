// UnackedTags: the delivery tags a channel has handed out that still need
// an ack, nack or reject, in delivery order. It exists so that a run of
// in-order acks can go to the broker as one `multiple` ack: that is exact
// only when the tag being acked is the oldest one still outstanding.

/** Removed entries are overwritten with this (delivery tags start at 1). */
const SETTLED = 0;

export class UnackedTags {
  private tags: number[] = [];
  private head = 0;

  /** A delivery that needs settling (tags arrive in increasing order). */
  push(tag: number): void {
    this.tags.push(tag);
  }

  /** The oldest outstanding tag, or 0 when none is outstanding. */
  oldest(): number {
    const tags = this.tags;
    let h = this.head;
    while (h < tags.length && tags[h] === SETTLED) h++;
    this.head = h;
    if (h === tags.length) {
      if (h > 0) this.reset();
      return 0;
    }
    return tags[h]!;
  }

  /** Settle the oldest outstanding tag (the caller checked it with oldest()). */
  shift(): void {
    this.tags[this.head++] = SETTLED;
    this.compact();
  }

  /** Settle one tag wherever it is; unknown tags are ignored. */
  settle(tag: number): void {
    const i = this.find(tag);
    if (i >= 0) {
      this.tags[i] = SETTLED;
      this.compact();
    }
  }

  /** Settle every outstanding tag up to and including `tag` (0: all). */
  settleUpTo(tag: number): void {
    const tags = this.tags;
    if (tag === 0) {
      this.reset();
      return;
    }
    let h = this.head;
    while (h < tags.length && (tags[h] === SETTLED || tags[h]! <= tag)) tags[h++] = SETTLED;
    // Entries settled out of order may sit past the first tag > `tag`; they are already SETTLED.
    this.head = h;
    this.compact();
  }

  /** Whether `tag` is still outstanding. */
  has(tag: number): boolean {
    return this.oldest() === tag || this.find(tag) >= 0;
  }

  reset(): void {
    this.tags.length = 0;
    this.head = 0;
  }

  get size(): number {
    let n = 0;
    for (let i = this.head; i < this.tags.length; i++) if (this.tags[i] !== SETTLED) n++;
    return n;
  }

  /** Binary search over the live part; settled entries keep their neighbours' order. */
  private find(tag: number): number {
    const tags = this.tags;
    let lo = this.head;
    let hi = tags.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      // A SETTLED slot has no tag: look at the nearest live one to its left.
      let m = mid;
      while (m >= lo && tags[m] === SETTLED) m--;
      if (m < lo) {
        lo = mid + 1;
        continue;
      }
      const v = tags[m]!;
      if (v === tag) return m;
      if (v < tag) lo = mid + 1;
      else hi = m - 1;
    }
    return -1;
  }

  /** Drop the settled prefix once it is large, so the array does not grow forever. */
  private compact(): void {
    const h = this.head;
    if (h === this.tags.length) {
      this.reset();
    } else if (h >= 1024 && h * 2 >= this.tags.length) {
      this.tags = this.tags.slice(h);
      this.head = 0;
    }
  }
}
