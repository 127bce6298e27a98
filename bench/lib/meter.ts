// The timed window of one run, for issue 15's scenarios (bench/lib/extra.ts):
// client CPU, broker CPU, the machine's other load and wall time, as the
// classic path in bench/worker.ts measures them.

import os from 'node:os';
import type { Job, RunResult } from './scenarios.js';
import { findBeamPid, machineBusySeconds, processCpuSeconds } from './sys.js';

export class Meter {
  private readonly beam = findBeamPid();
  private readonly cpu0 = process.cpuUsage();
  private readonly beam0 = processCpuSeconds(this.beam);
  private readonly mach0 = machineBusySeconds();
  private readonly h0 = process.hrtime.bigint();
  private readonly t0 = performance.now();

  /** Wall milliseconds so far. */
  elapsedMs(): number {
    return performance.now() - this.t0;
  }

  /** Client CPU seconds so far. */
  cpuS(): number {
    const c = process.cpuUsage(this.cpu0);
    return (c.user + c.system) / 1e6;
  }

  /** End the window: `n` messages (or calls) were handled in it. */
  stop(job: Job, n: number): RunResult {
    const wallS = (performance.now() - this.t0) / 1000;
    const h1 = process.hrtime.bigint();
    const clientCpuS = this.cpuS();
    const brokerCpuS = processCpuSeconds(this.beam) - this.beam0;
    const machS = machineBusySeconds() - this.mach0;
    const per100k = 100_000 / n;
    return {
      ...job,
      ok: true,
      wallS,
      rate: n / wallS,
      clientCpuS,
      cpuPer100k: clientCpuS * per100k,
      brokerCpuS,
      brokerCpuPer100k: brokerCpuS * per100k,
      otherCores: Math.max(0, (machS - clientCpuS - brokerCpuS) / wallS),
      loadavg1: os.loadavg()[0]!,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      windowUs: [Number(this.h0 / 1000n), Number(h1 / 1000n)],
    };
  }
}
