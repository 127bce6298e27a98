// ConfirmTracker: publisher confirms of one channel. Each publish in
// confirm mode gets the next delivery tag (from 1) and a promise that
// settles once (API.md "Publish outcome"): the broker's basic.ack resolves
// it, basic.nack rejects it with PublishFailed, a basic.return matched to
// its tag (publish-outcome.ts) rejects it with MessageReturned, and the
// end of the channel with the close error; `multiple` settles every tag up
// to the given one. Waiters (waitForConfirms) wait for the tags registered
// before them.

import { PublishFailed } from './errors.js';

interface Settler {
  resolve: () => void;
  reject: (err: Error) => void;
  /** A mandatory publish whose caller gave no headers (its return reports headers undefined). */
  bare: boolean;
}

interface Waiter {
  /** The last tag it waits for. */
  upTo: number;
  /** The earliest failing tag so far, and its error. */
  failTag: number;
  failure: Error | null;
  done: (failure: Error | null) => void;
}

export class ConfirmTracker {
  private nextTag = 1;
  /** Unsettled publishes by tag; Map order is publish order, so ascending. */
  private readonly pending = new Map<number, Settler>();
  private waiters: Waiter[] = [];

  /** The delivery tag the next publish gets. */
  get next(): number {
    return this.nextTag;
  }

  /** Register the next publish; its frames must be written right after, in tag order. */
  /** Publishes waiting for the broker's ack or nack. */
  get waiting(): number {
    return this.pending.size;
  }

  register(bare = false): Promise<void> {
    const tag = this.nextTag++;
    const p = new Promise<void>((resolve, reject) => {
      this.pending.set(tag, { resolve, reject, bare });
    });
    // An ignored publish must not crash the process; awaiting it still rejects.
    p.catch(() => undefined);
    return p;
  }

  ack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, null);
  }

  nack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, PublishFailed);
  }

  /** The mandatory publish `tag` came back: reject it with `error(bare)`. False when no publish waits under `tag`. */
  returned(tag: number, error: (bare: boolean) => Error): boolean {
    const s = this.pending.get(tag);
    if (s === undefined) return false;
    this.pending.delete(tag);
    const err = error(s.bare);
    s.reject(err);
    if (this.waiters.length !== 0) this.progress(tag, err);
    return true;
  }

  /** The link dropped: unsettled publishes reject with `err`; the new link's channel counts from 1 again. */
  restart(err: Error): void {
    this.failAll(err);
    this.nextTag = 1;
  }

  /** Reject every unsettled publish with `err` (the channel or connection closed). */
  failAll(err: Error): void {
    const list = [...this.pending];
    this.pending.clear();
    for (const [, s] of list) s.reject(err);
    if (this.waiters.length !== 0 && list.length > 0) this.progress(list[0]![0], err);
  }

  /**
   * Settles once every publish registered so far has settled: resolves, or
   * rejects with the failure of the earliest that failed. `cancel` drops it.
   */
  whenSettled(): { promise: Promise<void>; cancel: () => void } {
    const upTo = this.nextTag - 1;
    if (!this.waitsFor(upTo)) return { promise: Promise.resolve(), cancel: () => undefined };
    let waiter!: Waiter;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { upTo, failTag: Infinity, failure: null, done: (f) => (f === null ? resolve() : reject(f)) };
    });
    this.waiters.push(waiter);
    return { promise, cancel: () => (this.waiters = this.waiters.filter((w) => w !== waiter)) };
  }

  private settle(tag: number, multiple: boolean, failure: typeof PublishFailed | null): void {
    if (!multiple) {
      const s = this.pending.get(tag);
      if (s === undefined) return;
      this.pending.delete(tag);
      const err = failure === null ? null : new failure(tag);
      if (err === null) s.resolve();
      else s.reject(err);
      if (this.waiters.length !== 0) this.progress(tag, err);
      return;
    }
    // multiple with tag 0 means every outstanding publish.
    let first: number | null = null;
    let firstErr: Error | null = null;
    for (const [t, s] of this.pending) {
      if (tag !== 0 && t > tag) break;
      this.pending.delete(t);
      if (failure === null) s.resolve();
      else {
        const err = new failure(t);
        if (firstErr === null) [first, firstErr] = [t, err];
        s.reject(err);
      }
    }
    if (this.waiters.length !== 0) this.progress(first ?? 0, firstErr);
  }

  /** Whether a publish up to `upTo` is still unsettled. */
  private waitsFor(upTo: number): boolean {
    for (const t of this.pending.keys()) return t <= upTo;
    return false;
  }

  /** Tag `tag` (the earliest of a batch) settled with `err`: record it, and finish the waiters nothing holds. */
  private progress(tag: number, err: Error | null): void {
    const left: Waiter[] = [];
    for (const w of this.waiters) {
      if (err !== null && tag <= w.upTo && tag < w.failTag) [w.failTag, w.failure] = [tag, err];
      if (this.waitsFor(w.upTo)) left.push(w);
      else w.done(w.failure);
    }
    this.waiters = left;
  }
}
