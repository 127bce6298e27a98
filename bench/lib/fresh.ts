// What it costs to hand out a fresh 1 MiB Buffer per message (as every client
// must when a consumed body spans several frames and the user owns the
// result) compared with copying into memory that is reused. Used by
// bench/fresh-memory.ts and by the runner, which measures it once per
// benchmark for the floor of the 1 MiB consume scenarios (issue 15).

const MIB = 1 << 20;
const CHUNK = 64 * 1024; // what one socket read delivers

/** CPU ms per message (and the system part) to copy 1 MiB in 64 KiB reads into a fresh or a reused buffer. */
export function copyCost(fresh: boolean, messages = 2000): { cpuMs: number; sysMs: number } {
  const chunks = Array.from({ length: MIB / CHUNK }, (_, i) => Buffer.alloc(CHUNK, i));
  const reused = Buffer.allocUnsafe(MIB);
  const live: Buffer[] = []; // a few bodies alive at once, as with a consumer
  const c0 = process.cpuUsage();
  for (let m = 0; m < messages; m++) {
    const body = fresh ? Buffer.allocUnsafe(MIB) : reused;
    for (let k = 0; k < chunks.length; k++) chunks[k]!.copy(body, k * CHUNK);
    live.push(body);
    if (live.length > 50) live.shift();
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000 / messages, sysMs: c.system / 1000 / messages };
}

/** Median over `rounds` of the fresh-buffer cost: CPU ms per 1 MiB message. */
export function freshMiBCostMs(rounds = 3): number {
  const v = Array.from({ length: rounds }, () => copyCost(true).cpuMs).sort((a, b) => a - b);
  return v[v.length >> 1]!;
}
