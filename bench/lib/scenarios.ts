// The scenario matrix, shared by the runner (what to run) and the worker (how).

export type Kind = 'publish' | 'confirm' | 'consume-ack' | 'consume-noack' | 'rpc';

export interface Scenario {
  /** e.g. "publish-16B" */
  id: string;
  kind: Kind;
  size: number;
  /** messages (or calls) at scale 1 */
  base: number;
  /** not part of the default matrix; run it by naming it in --scenarios */
  optional?: boolean;
}

export const KINDS: readonly Kind[] = ['publish', 'confirm', 'consume-ack', 'consume-noack', 'rpc'];

export const SIZE_LABEL: Readonly<Record<number, string>> = { 16: '16B', 1024: '1KiB', 4096: '4KiB', 1048576: '1MiB' };

function sc(kind: Kind, size: number, base: number, optional = false): Scenario {
  return { id: `${kind}-${SIZE_LABEL[size]}`, kind, size, base, ...(optional ? { optional } : {}) };
}

export const SCENARIOS: readonly Scenario[] = [
  sc('publish', 16, 200_000),
  sc('publish', 4096, 50_000),
  sc('publish', 1048576, 1_000),
  sc('confirm', 16, 200_000),
  sc('confirm', 4096, 50_000),
  sc('consume-ack', 16, 200_000),
  sc('consume-ack', 4096, 50_000),
  sc('consume-ack', 1048576, 1_000),
  sc('consume-noack', 16, 200_000),
  sc('consume-noack', 4096, 50_000),
  sc('consume-noack', 1048576, 1_000),
  sc('rpc', 16, 10_000),
  sc('rpc', 4096, 10_000),
  // The memory goal: peak RSS while publishing 1M × 1 KiB without
  // confirms (see the peak RSS column). Opt-in: --scenarios publish-1KiB
  sc('publish', 1024, 1_000_000, true),
];

/** At most this many unconfirmed publishes (the rule). */
export const CONFIRM_WINDOW = 1000;
export const PREFETCH = 1000;

/**
 * In-flight publish promises without confirms: 1000 messages, but no more
 * than ~8 MiB of bodies, so 1 MiB messages do not queue a gigabyte.
 */
export function publishWindow(size: number): number {
  return Math.max(4, Math.min(1000, Math.floor((8 * 1048576) / Math.max(1, size))));
}

export function countFor(s: Scenario, scale: number): number {
  return Math.max(s.kind === 'rpc' ? 100 : 10, Math.round(s.base * scale));
}

/** What the runner asks one worker process to do. */
export interface Job {
  round: number;
  client: string;
  scenario: string;
  kind: Kind;
  size: number;
  n: number;
  url: string;
}

/** What a worker reports back. */
export interface RunResult extends Job {
  ok: boolean;
  error?: string;
  wallS: number;
  /** messages (or calls) per second */
  rate: number;
  clientCpuS: number;
  /** client-process CPU seconds per 100k messages */
  cpuPer100k: number;
  brokerCpuS: number;
  brokerCpuPer100k: number;
  /** cores busy with anything but client, broker and RPC sidecar: noise */
  otherCores: number;
  /** 1-minute load average when the run ended */
  loadavg1: number;
  p50Ms?: number;
  p99Ms?: number;
  maxRssMB: number;
  /** the timed window on the monotonic clock, µs (to cut CPU profiles) */
  windowUs?: [number, number];
  /** set by the runner: ms spent waiting for a quiet machine, and the busy cores it last saw */
  settleMs?: number;
  busyBefore?: number;
}
