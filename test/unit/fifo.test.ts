// The consumers' delivery buffer (src/fifo.ts): order across wrap-around
// and growth, drain, and that an emptied ring lets go of what it held.

import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/fifo.js';

/** The ring's slot array, to check what it still references. */
const slotsOf = (f: Fifo<unknown>): unknown[] => (f as unknown as { slots: unknown[] }).slots;

describe('Fifo', () => {
  it('keeps order while the ring wraps around and grows, against an array model', () => {
    const f = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    // A fixed pseudo-random walk of pushes and shifts, long enough to wrap and double several times.
    let seed = 7;
    for (let step = 0; step < 20_000; step++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      if (seed % 5 < 3) {
        f.push(next);
        model.push(next++);
      } else {
        expect(f.shift()).toBe(model.shift());
      }
      expect(f.length).toBe(model.length);
    }
    expect(f.drain()).toEqual(model);
    expect(f.length).toBe(0);
    expect(f.shift()).toBeUndefined();
  });

  it('drain() returns oldest first across the wrap point and leaves the fifo empty and usable', () => {
    const f = new Fifo<string>();
    for (let i = 0; i < 12; i++) f.push(`a${i}`);
    for (let i = 0; i < 10; i++) f.shift();
    for (let i = 0; i < 10; i++) f.push(`b${i}`); // wraps past slot 15
    expect(f.drain()).toEqual(['a10', 'a11', ...Array.from({ length: 10 }, (_, i) => `b${i}`)]);
    expect(f.length).toBe(0);
    f.push('c');
    expect(f.shift()).toBe('c');
  });

  it('holds no reference to what was shifted or drained', () => {
    const f = new Fifo<object>();
    for (let i = 0; i < 10; i++) f.push({ i });
    for (let i = 0; i < 4; i++) f.shift();
    expect(slotsOf(f).filter((x) => x !== undefined)).toHaveLength(6);
    f.drain();
    expect(slotsOf(f).filter((x) => x !== undefined)).toHaveLength(0);
  });

  it('an emptied ring that grew past 4096 slots shrinks back; a smaller one keeps its slots', () => {
    const f = new Fifo<number>();
    for (let i = 0; i < 1000; i++) f.push(i);
    const mid = slotsOf(f);
    while (f.length > 0) f.shift();
    expect(slotsOf(f)).toBe(mid); // 1024 slots: kept for the next burst
    for (let i = 0; i < 10_000; i++) f.push(i);
    expect(slotsOf(f).length).toBe(16_384);
    while (f.length > 0) f.shift();
    expect(slotsOf(f).length).toBe(16);
  });
});
