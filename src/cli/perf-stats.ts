// perf's numbers: counters, a latency histogram with bounded memory, the
// per-second line and the summary.

/** Relative width of a histogram bucket: percentiles are exact to about 1%. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Latencies are kept in microseconds; the first bucket holds everything under 1 µs. */
const MAX_BUCKET = Math.ceil(Math.log(3600e6) / LOG_GROWTH) + 1;

/** Latency samples in log-spaced buckets (fixed memory, any number of samples). */
export class LatencyHistogram {
  private readonly buckets = new Float64Array(MAX_BUCKET + 1);
  count = 0;

  /** Record one latency, in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    const i = us < 1 ? 0 : Math.min(MAX_BUCKET, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.buckets[i]!++;
    this.count++;
  }

  /** Add another histogram's samples to this one. */
  add(other: LatencyHistogram): void {
    for (let i = 0; i <= MAX_BUCKET; i++) this.buckets[i]! += other.buckets[i]!;
    this.count += other.count;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
  }

  /** The p-th percentile (0-100) in milliseconds (the bucket's upper bound), or 0 with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i <= MAX_BUCKET; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return i === 0 ? 0.001 : GROWTH ** i / 1000;
    }
    return GROWTH ** MAX_BUCKET / 1000;
  }
}

/** What every producer and consumer adds to. */
export class PerfCounters {
  sent = 0;
  confirmed = 0;
  nacked = 0;
  received = 0;
  readonly latency = new LatencyHistogram();
}

export interface Summary {
  durationS: number;
  sent: number;
  confirmed: number;
  received: number;
  sentRate: number;
  confirmedRate: number;
  receivedRate: number;
  latencyMs: { p50: number; p95: number; p99: number };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function latencies(h: LatencyHistogram): { p50: number; p95: number; p99: number } {
  return { p50: round(h.percentile(50), 3), p95: round(h.percentile(95), 3), p99: round(h.percentile(99), 3) };
}

function ms(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function latencyText(h: LatencyHistogram): string {
  if (h.count === 0) return 'latency -';
  return `latency p50 ${ms(h.percentile(50))} ms, p95 ${ms(h.percentile(95))} ms, p99 ${ms(h.percentile(99))} ms`;
}

/** Turns counters into one line per interval and a summary at the end. */
export class PerfReport {
  private last = { sent: 0, confirmed: 0, received: 0, at: 0 };
  /** Latencies of the current interval; the counters' histogram keeps the whole run. */
  readonly interval = new LatencyHistogram();

  constructor(
    private readonly c: PerfCounters,
    private readonly confirms: boolean,
    private readonly startedAt: number,
  ) {
    this.last.at = startedAt;
  }

  /** Record a latency in both the interval and the whole run. */
  record(latencyMs: number): void {
    this.interval.record(latencyMs);
    this.c.latency.record(latencyMs);
  }

  /** The line for the interval since the previous call. */
  tick(now: number): string {
    const dt = (now - this.last.at) / 1000;
    const rate = (n: number, prev: number): number => Math.round((n - prev) / dt);
    const c = this.c;
    const parts = [`${((now - this.startedAt) / 1000).toFixed(0).padStart(4)}s`, `sent ${rate(c.sent, this.last.sent)} msg/s`];
    if (this.confirms) parts.push(`confirmed ${rate(c.confirmed, this.last.confirmed)} msg/s`);
    parts.push(`received ${rate(c.received, this.last.received)} msg/s`, latencyText(this.interval));
    if (c.nacked > 0) parts.push(`nacked ${c.nacked} in all`);
    this.last = { sent: c.sent, confirmed: c.confirmed, received: c.received, at: now };
    this.interval.reset();
    return parts.join(', ');
  }

  /** The run's totals; rates are over `durationS`, the time spent sending. */
  summary(durationS: number): Summary {
    const c = this.c;
    const d = round(durationS, 3); // rates from the duration as printed, so that they can be checked
    const per = (n: number): number => (d > 0 ? Math.round(n / d) : 0);
    return {
      durationS: d,
      sent: c.sent,
      confirmed: c.confirmed,
      received: c.received,
      sentRate: per(c.sent),
      confirmedRate: per(c.confirmed),
      receivedRate: per(c.received),
      latencyMs: latencies(c.latency),
    };
  }

  /** The summary as text lines for stderr. */
  static text(s: Summary, confirms: boolean): string {
    const lines = [
      `summary: ${s.durationS.toFixed(1)} s`,
      `  sent      ${s.sent} messages, ${s.sentRate} msg/s`,
      ...(confirms ? [`  confirmed ${s.confirmed} messages, ${s.confirmedRate} msg/s`] : []),
      `  received  ${s.received} messages, ${s.receivedRate} msg/s`,
      `  consumer latency p50 ${ms(s.latencyMs.p50)} ms, p95 ${ms(s.latencyMs.p95)} ms, p99 ${ms(s.latencyMs.p99)} ms`,
    ];
    return lines.join('\n');
  }
}
