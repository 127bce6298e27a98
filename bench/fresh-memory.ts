// `tsx bench/fresh-memory.ts`: what it costs to hand out a fresh 1 MiB
// Buffer per message (as every client must when a consumed body spans
// several frames and the user owns the result) compared with copying into
// memory that is reused. The difference is page faults on first touch,
// not the copy itself; it explains most of the gap between any client and
// the raw baseline (which keeps nothing) in the 1 MiB consume scenarios.
// The measurement lives in bench/lib/fresh.ts; `npm run bench` takes it too.

import { copyCost } from './lib/fresh.js';

for (let round = 0; round < 3; round++) {
  for (const fresh of [true, false]) {
    const r = copyCost(fresh);
    console.log(
      `${fresh ? 'fresh 1 MiB buffer per message' : 'reused 1 MiB buffer          '}  ` +
        `${r.cpuMs.toFixed(3)} ms CPU per message (of which system ${r.sysMs.toFixed(3)} ms)`,
    );
  }
}
