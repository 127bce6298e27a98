// ConfirmTracker: publisher confirms of one channel. Each publish in
// confirm mode gets the next delivery tag (from 1) and a promise that the
// broker's basic.ack settles (or basic.nack rejects with PublishFailed);
// `multiple` settles every tag up to the given one.

import { PublishFailed } from './errors.js';

interface Settler {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ConfirmTracker {
  private nextTag = 1;
  /** Unsettled publishes by tag; Map order is publish order, so ascending. */
  private readonly pending = new Map<number, Settler>();

  /** Register the next publish; its frames must be written right after, in tag order. */
  /** Publishes waiting for the broker's ack or nack. */
  get waiting(): number {
    return this.pending.size;
  }

  register(): Promise<void> {
    const tag = this.nextTag++;
    const p = new Promise<void>((resolve, reject) => {
      this.pending.set(tag, { resolve, reject });
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

  /** The link dropped: unsettled publishes reject with `err`; the new link's channel counts from 1 again. */
  restart(err: Error): void {
    this.failAll(err);
    this.nextTag = 1;
  }

  /** Reject every unsettled publish with `err` (the channel or connection closed). */
  failAll(err: Error): void {
    const list = [...this.pending.values()];
    this.pending.clear();
    for (const s of list) s.reject(err);
  }

  private settle(tag: number, multiple: boolean, failure: typeof PublishFailed | null): void {
    if (!multiple) {
      const s = this.pending.get(tag);
      if (s === undefined) return;
      this.pending.delete(tag);
      if (failure === null) s.resolve();
      else s.reject(new failure(tag));
      return;
    }
    // multiple with tag 0 means every outstanding publish.
    for (const [t, s] of this.pending) {
      if (tag !== 0 && t > tag) break;
      this.pending.delete(t);
      if (failure === null) s.resolve();
      else s.reject(new failure(t));
    }
  }
}
