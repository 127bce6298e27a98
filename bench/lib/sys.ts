// CPU accounting from /proc: the broker's beam.smp process, any child process,
// and the whole machine (for the "other load" noise indicator).

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc times (USER_HZ; 100 on Linux). */
const HZ = 100;

let beamPid: number | null | undefined;

/** The inode of the TCP socket listening on `port` (IPv4 or IPv6), or null. */
function listenInode(port: number): string | null {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const c = line.trim().split(/\s+/);
        // local_address rem_address st … inode (field 9); 0A = LISTEN
        if (c[1]?.endsWith(hex) && c[3] === '0A') return c[9] ?? null;
      }
    } catch {
      // no such table
    }
  }
  return null;
}

/** Whether process `pid` holds the socket with `inode` open. */
function holdsSocket(pid: string, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * The pid of the RabbitMQ VM (beam.smp) that listens on the AMQP port, or
 * null when not visible. Other brokers may run on the machine (test
 * clusters): taking the first beam.smp in /proc would measure one of them.
 */
export function findBeamPid(port = 5672): number | null {
  if (beamPid !== undefined) return beamPid;
  beamPid = null;
  try {
    const beams = readdirSync('/proc').filter((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'beam.smp';
      } catch {
        return false; // process went away
      }
    });
    const inode = listenInode(port);
    const owner = inode === null ? undefined : beams.find((d) => holdsSocket(d, inode));
    const pick = owner ?? (beams.length === 1 ? beams[0] : undefined);
    beamPid = pick === undefined ? null : Number(pick);
  } catch {
    // no /proc
  }
  return beamPid;
}

/** utime+stime of a process in seconds, or NaN. */
export function processCpuSeconds(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after "pid (comm) ": state=0 … utime=11 stime=12
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch {
    return Number.NaN;
  }
}

/** Machine-wide busy CPU seconds (all cores) from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = v[0]! + v[1]! + v[2]! + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
    return busy / HZ;
  } catch {
    return Number.NaN;
  }
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Nearest-rank percentile (0–100) of an unsorted array. */
export function percentile(xs: ArrayLike<number>, p: number): number {
  const v = Array.from(xs).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[i]!;
}
