// The floor of any `for await` consumer: the plainest async iterator over
// values pushed to it (a ring buffer, one promise and one result object per
// step, nothing else). What a loop over it costs above a callback is what
// the language's `for await` itself costs, so an iterator can come close to
// it but not below (docs/performance.md, run L).
// Used in-process by bench/iterator-overhead.ts and against the broker by
// the paired runs (bench/lib/paired.ts, through oursAdapter('floor')).

import { Fifo } from '../../src/fifo.js';

export interface FloorFeed<T> {
  /** Hand the loop one value (from a consumer callback). */
  push(value: T): void;
  /** Iterate once; leaving the loop simply stops taking values. */
  readonly iterable: AsyncIterable<T>;
}

export function forAwaitFloor<T>(): FloorFeed<T> {
  const ready = new Fifo<T>();
  let wake: ((r: IteratorResult<T>) => void) | null = null;
  return {
    push(value) {
      if (wake === null) return void ready.push(value);
      const w = wake;
      wake = null;
      w({ done: false, value });
    },
    iterable: {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          ready.length > 0
            ? Promise.resolve({ done: false, value: ready.shift()! })
            : new Promise<IteratorResult<T>>((resolve) => (wake = resolve)),
      }),
    },
  };
}
