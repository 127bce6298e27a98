// `tsx bench/fresh-memory.ts`: what it costs to hand out a fresh 1 MiB
// Buffer per message (as every client must when a consumed body spans
// several frames and the user owns the result) compared with copying into
// memory that is reused. The difference is page faults on first touch,
// not the copy itself; it explains most of the gap between any client and
// the raw baseline (which keeps nothing) in the 1 MiB consume scenarios.

const MIB = 1 << 20;
const CHUNK = 64 * 1024; // what one socket read delivers
const MESSAGES = 2000;

const chunks = Array.from({ length: MIB / CHUNK }, (_, i) => Buffer.alloc(CHUNK, i));

function run(fresh: boolean): { cpuMs: number; sysMs: number } {
  const reused = Buffer.allocUnsafe(MIB);
  const live: Buffer[] = []; // a few bodies alive at once, as with a consumer
  const c0 = process.cpuUsage();
  for (let m = 0; m < MESSAGES; m++) {
    const body = fresh ? Buffer.allocUnsafe(MIB) : reused;
    for (let k = 0; k < chunks.length; k++) chunks[k]!.copy(body, k * CHUNK);
    live.push(body);
    if (live.length > 50) live.shift();
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000 / MESSAGES, sysMs: c.system / 1000 / MESSAGES };
}

for (let round = 0; round < 3; round++) {
  for (const fresh of [true, false]) {
    const r = run(fresh);
    console.log(
      `${fresh ? 'fresh 1 MiB buffer per message' : 'reused 1 MiB buffer          '}  ` +
        `${r.cpuMs.toFixed(3)} ms CPU per message (of which system ${r.sysMs.toFixed(3)} ms)`,
    );
  }
}
