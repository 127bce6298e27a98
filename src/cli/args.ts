// Command-line parsing over `node:util` parseArgs: global options (`--url`,
// `--help`) anywhere on the line, typed access to a command's values, and
// `k=v` pairs for `--arg` and `--header`.

import { parseArgs } from 'node:util';
import { UsageError, type OptionSpec } from './usage.js';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: { type: 'string', arg: 'URL', help: 'broker URL (default: $AMQP_URL, else amqp://guest:guest@localhost:5672/)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const DEFAULT_URL = 'amqp://guest:guest@localhost:5672/';

type Value = string | boolean | (string | boolean)[] | undefined;

/** The first token that is neither a global option nor its value: the command name (or undefined). */
export function findCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--url') {
      i++;
      continue;
    }
    if (a.startsWith('--url=') || a === '--help' || a === '-h') continue;
    if (a.startsWith('-')) return { name: undefined, rest: [...argv] };
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

/** Parse a command's arguments (without its name) strictly; parseArgs' complaints become UsageErrors. */
export function parseCommandLine(cmd: string, argv: string[], options: Record<string, OptionSpec>): { args: string[]; flags: Flags } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries({ ...GLOBAL_OPTIONS, ...options })) {
    config[name] = { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple ? { multiple: true } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
    return { args: positionals, flags: new Flags(cmd, values as Record<string, Value>) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      // parseArgs' messages can run over several lines (hints); the first says what is wrong.
      const first = (e.message ?? '').split('\n')[0]!.replace(/\. .*$/, '');
      throw new UsageError(first, cmd);
    }
    throw err;
  }
}

/** Typed access to one command's option values; bad values are UsageErrors naming the option. */
export class Flags {
  constructor(
    private readonly cmd: string,
    private readonly values: Record<string, Value>,
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  /** An integer option in [min, max], or `fallback` when absent. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`option '--${name}' needs an integer ${describeRange(min, max)}, got '${v}'`, this.cmd);
    }
    return n;
  }

  /** A non-negative number option (e.g. a rate), or `fallback` when absent. */
  num(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new UsageError(`option '--${name}' needs a non-negative number, got '${v}'`, this.cmd);
    return n;
  }

  /** `k=v` pairs of a repeatable option, values typed as `typedValue` says. */
  pairs(name: string): Record<string, string | number | bigint | boolean> | undefined {
    const list = this.list(name);
    if (list.length === 0) return undefined;
    const out: Record<string, string | number | bigint | boolean> = {};
    for (const item of list) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`option '--${name}' needs KEY=VALUE, got '${item}'`, this.cmd);
      out[item.slice(0, eq)] = typedValue(item.slice(eq + 1));
    }
    return out;
  }
}

function describeRange(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return min === 0 ? '>= 0' : `>= ${min}`;
  return `from ${min} to ${max}`;
}

/** `--arg`/`--header` values: an integer → number (bigint past 2^53), true/false → boolean, else the string. */
export function typedValue(v: string): string | number | bigint | boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  return v;
}
