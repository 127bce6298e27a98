// The scenario matrix, shared by the runner (what to run) and the worker (how).

export type Kind =
  | 'publish'
  | 'confirm'
  | 'consume-ack'
  | 'consume-noack'
  | 'rpc'
  // issue 15's scenarios (bench/lib/extra.ts runs them)
  | 'many-queues'
  | 'channels'
  | 'latency'
  | 'idle-connections'
  | 'idle-channels'
  | 'connect';

/**
 * What a scenario belongs to; `--scenarios <group>` selects a whole group.
 * `classic` is the matrix of issue 5; the others are issue 15's.
 */
export type Group = 'classic' | 'props' | 'many' | 'latency' | 'footprint';

export interface Scenario {
  /** e.g. "publish-16B" */
  id: string;
  kind: Kind;
  size: number;
  /** messages (or calls) at scale 1 */
  base: number;
  /** not part of the default matrix; run it by naming it in --scenarios */
  optional?: boolean;
  group: Group;
  /** messages carry realistic properties (bench/lib/props.ts) */
  props?: boolean;
  /** kind-specific: queues (many-queues), channels (channels, idle-channels), msg/s (latency), connections (idle-connections) */
  param?: number;
}

export const KINDS: readonly Kind[] = ['publish', 'confirm', 'consume-ack', 'consume-noack', 'rpc'];

export const SIZE_LABEL: Readonly<Record<number, string>> = { 16: '16B', 1024: '1KiB', 4096: '4KiB', 1048576: '1MiB' };

function sc(kind: Kind, size: number, base: number, optional = false): Scenario {
  return { id: `${kind}-${SIZE_LABEL[size]}`, kind, size, base, group: 'classic', ...(optional ? { optional } : {}) };
}

/** The same kinds with realistic properties on every message. */
function props(kind: Kind, size: number, base: number): Scenario {
  return { id: `${kind}-props-${SIZE_LABEL[size]}`, kind, size, base, group: 'props', props: true };
}

function extra(id: string, kind: Kind, group: Group, size: number, base: number, param: number, optional = false): Scenario {
  return { id, kind, size, base, group, param, ...(optional ? { optional } : {}) };
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
  // ---- issue 15
  props('publish', 1024, 100_000),
  props('confirm', 1024, 100_000),
  props('consume-ack', 1024, 100_000),
  props('consume-noack', 1024, 100_000),
  // 100 queues, one consumer (own channel, prefetch 10, acks) each; one publisher round-robin
  extra('many-queues-100', 'many-queues', 'many', 16, 100_000, 100),
  // open 1000 channels on one connection (open time), then publish rounds of one message per channel
  extra('channels-1000', 'channels', 'many', 16, 100_000, 1000),
  // publish at a fixed rate, publish → delivery latency from a timestamp header
  extra('latency-5k', 'latency', 'latency', 16, 50_000, 5000),
  extra('latency-20k', 'latency', 'latency', 16, 200_000, 20_000, true),
  // footprint: RSS and heap per idle connection / channel, connect() → first open channel
  extra('idle-connections-100', 'idle-connections', 'footprint', 0, 100, 100),
  extra('idle-channels-1000', 'idle-channels', 'footprint', 0, 1000, 1000),
  extra('connect', 'connect', 'footprint', 0, 20, 20),
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
  // footprint scenarios measure a fixed shape (100 connections, 1000 channels, 20 connects)
  if (s.group === 'footprint') return s.base;
  // whole rounds over the channels / queues
  if (s.kind === 'channels' || s.kind === 'many-queues') return Math.max(1, Math.round((s.base * scale) / s.param!)) * s.param!;
  return Math.max(s.kind === 'rpc' ? 100 : 10, Math.round(s.base * scale));
}

/** The default warm-up: this fraction of the scenario's messages (at least MIN_RPC_WARMUP RPC calls). */
export const WARMUP_FRACTION = 0.25;
/**
 * An RPC call runs each client's per-call code once, so a few thousand
 * calls pass before V8 has compiled it: after 1000 calls V8's background
 * threads still took 20–40% of a client's CPU in a 3500-call window
 * (ours 110 ms, amqp-client 70, raw 20-40; per-thread CPU from /proc),
 * after 5000 they took 0–20 ms for every client (docs/performance.md, run L).
 */
export const MIN_RPC_WARMUP = 5000;

/** How many messages (or calls) to warm up with for a job, given the runner's fraction. */
export function warmupCount(kind: Job['kind'], n: number, fraction: number): number {
  if (fraction <= 0) return 0;
  const w = Math.max(1, Math.round(n * fraction));
  return kind === 'rpc' ? Math.max(w, MIN_RPC_WARMUP) : w;
}

/** The job a runner hands a worker for scenario `s` (run.ts and profile.ts alike). */
export function jobFor(s: Scenario, o: { round: number; client: string; scale: number; url: string; warmup: number }): Job {
  const n = countFor(s, o.scale);
  return {
    round: o.round,
    client: o.client,
    scenario: s.id,
    kind: s.kind,
    size: s.size,
    n,
    url: o.url,
    ...(s.props ? { props: true } : {}),
    ...(s.param !== undefined ? { param: s.param } : {}),
    ...(KINDS.includes(s.kind) ? { warmup: warmupCount(s.kind, n, o.warmup) } : {}),
  };
}

/** Whether `pattern` (an id, kind, group or id prefix from --scenarios) selects s. */
export function selects(s: Scenario, pattern: string): boolean {
  return s.id === pattern || (!s.optional && (s.kind === pattern || s.group === pattern || s.id.startsWith(pattern)));
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
  props?: boolean;
  param?: number;
  /** Untimed messages (or calls) through the client before the timed window (bench/lib/warmup.ts); default: the worker's. */
  warmup?: number;
}

/** What a worker reports back. */
export interface RunResult extends Job {
  ok: boolean;
  error?: string;
  wallS: number;
  /** messages (or calls) per second */
  rate: number;
  clientCpuS: number;
  /** clientCpuS split: user mode and kernel (docs/performance.md, "RPC against the floor", uses it). */
  clientUserS?: number;
  clientSysS?: number;
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
  /** scenario-specific figures (ms to open channels, KB per idle connection, …), see bench/lib/extra.ts */
  extra?: Record<string, number>;
}
