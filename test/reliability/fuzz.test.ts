// Scenario 7: fuzzing, bounded (the long campaign is `npm run fuzz`,
// fuzz-campaign.ts). Mutations of real broker traffic (fixtures/
// broker-session.json) and random frame streams go to the frame reader and
// decoders, and replayed against a real AmqpProtocol over an in-memory
// socket; see fuzz-core.ts for the invariants. Every case is bounded (the
// client-level ones only wait for event-loop turns), so a hang shows as this
// test's timeout.
import { describe, expect, it } from 'vitest';
import { FrameError } from '../../src/index.js';
import { takeUnhandledErrors } from '../support/setup.js';
import { chunk, loadCorpus, mutate, runCase, runClient, runFrames, Rng, type MutationName } from './fuzz-core.js';
import { startLeakCheck } from '../support/leaks.js';

const corpus = loadCorpus();
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed) >>> 0;
const CASES = Number(process.env.FUZZ_CASES ?? 5000);
/** A case only waits for a few event-loop turns: one that takes this long is hung. */
const CASE_BOUND_MS = 1000;

describe('scenario 7: fuzzing the frame reader, the decoders and the client', () => {
  it('the recorded session is sane: it parses cleanly and replays without error', async () => {
    expect(corpus.frames.length).toBeGreaterThan(30);
    expect(corpus.frames.at(-1)!.end).toBe(corpus.stream.length); // whole frames only
    expect(runFrames([corpus.stream])).toBeNull();
    expect(runFrames(chunk(corpus.stream, new Rng(1)))).toBeNull();
    expect(await runClient(corpus.segments, new Rng(2))).toEqual({ failure: null, code: 0 });
  });

  it('each mutation kind yields a FrameError or a clean parse, never another exception', () => {
    const kinds: MutationName[] = [
      'bitflip', 'byte', 'truncate', 'delete', 'duplicate', 'splice', 'insert-random', 'frame-size',
      'frame-end', 'frame-type', 'frame-channel', 'u32-at', 'u16-at', 'drop-frame', 'repeat-frame', 'swap-frames',
    ];
    const rng = new Rng(SEED, 99);
    for (const k of kinds) {
      for (let i = 0; i < 50; i++) {
        const bytes = mutate(corpus.stream, rng, corpus, k);
        const err = runFrames(chunk(bytes, rng)); // throws (fails the test) on anything but FrameError
        if (err !== null) expect(err).toBeInstanceOf(FrameError);
      }
    }
  });

  it(`${CASES} random cases (seed ${SEED}): no failure, no crash, nothing left behind`, async () => {
    const leaks = startLeakCheck();
    const failures: string[] = [];
    const levels = { frames: 0, client: 0 };
    const codes = new Set<number>();
    for (let i = 0; i < CASES; i++) {
      const t0 = Date.now();
      const r = await runCase(corpus, SEED, i);
      const took = Date.now() - t0;
      if (took > CASE_BOUND_MS) failures.push(`case ${i} (${r.level}) took ${took} ms`);
      levels[r.level]++;
      codes.add(r.code);
      if (!r.ok) failures.push(`case ${i} (${r.level}, ${r.mutations?.join('+')}): ${r.failure}`);
    }
    expect(takeUnhandledErrors()).toEqual([]);
    expect(failures.slice(0, 10)).toEqual([]);
    // The cases reach both levels and several kinds of errors (the mutations bite).
    expect(levels.client).toBeGreaterThan(CASES / 10);
    expect(levels.frames).toBeGreaterThan(CASES / 2);
    for (const code of [0, 501, 502, 503, 504, 505]) expect(codes.has(code), `no case ended with ${code}`).toBe(true);
    await leaks.assertClean();
  }, 20_000);
});
