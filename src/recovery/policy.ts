// The recovery option (`recovery: true | {...}`) resolved to numbers, and
// the backoff between attempts: exponential with full jitter.

/** The `recovery` connect option as an object (`recovery: true` takes every default). */
export interface RecoveryOptions {
  /** Milliseconds; attempt n waits a random delay in [0, min(maxDelay, initialDelay × 2^(n−1))]. Default 100. */
  initialDelay?: number;
  /** Default 10000 ms. */
  maxDelay?: number;
  /** Attempts per outage before giving up (`'recoveryFailed'`). Default Infinity. */
  maxAttempts?: number;
  /** Record exchanges, queues, bindings and consumers, and replay them (default true). */
  topology?: boolean;
}

export interface RecoveryPolicy {
  initialDelay: number;
  maxDelay: number;
  maxAttempts: number;
  topology: boolean;
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new TypeError(`recovery.${name} must be a number >= 0, got ${String(v)}`);
  return v;
}

/** null when recovery is off; throws `TypeError` for a malformed option. */
export function recoveryPolicy(o: boolean | RecoveryOptions | undefined): RecoveryPolicy | null {
  if (o === undefined || o === false) return null;
  if (o === true) o = {};
  if (typeof o !== 'object' || o === null) throw new TypeError(`recovery must be a boolean or an object, got ${String(o)}`);
  const maxAttempts = nonNegative('maxAttempts', o.maxAttempts, Infinity);
  if (maxAttempts < 1) throw new TypeError('recovery.maxAttempts must be at least 1');
  return {
    initialDelay: nonNegative('initialDelay', o.initialDelay, 100),
    maxDelay: nonNegative('maxDelay', o.maxDelay, 10_000),
    maxAttempts,
    topology: o.topology ?? true,
  };
}

/** The wait before attempt `attempt` (1-based): full jitter over the capped exponential. */
export function backoffDelay(p: RecoveryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(p.maxDelay, p.initialDelay * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}
