// What a command of the `amqp091` tool is: its name, its options (the
// `node:util` parseArgs shape plus help text), and the function that runs
// it. Usage mistakes are `UsageError`s (exit status 2); everything else a
// command throws is a broker or connection error (exit status 1).

import type { Flags } from './args.js';
import type { OptionSpec } from './usage.js';

export { UsageError, type OptionSpec } from './usage.js';

/** Where a command writes and reads; tests and main() pass the process streams. */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** A parsed command line: positionals, option values and the broker URL. */
export interface Invocation {
  args: string[];
  flags: Flags;
  url: string;
  io: Io;
}

export interface Command {
  name: string;
  /** e.g. 'consume QUEUE [options]' */
  usage: string;
  /** One line for the command list. */
  summary: string;
  /** Paragraphs shown by `--help` under the usage line. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Number of positionals accepted. */
  minArgs: number;
  maxArgs: number;
  /** Runs the command; resolves with the exit status. */
  run(inv: Invocation): Promise<number>;
}

/** Exit statuses of the tool. */
export const EXIT = { ok: 0, error: 1, usage: 2, empty: 3 } as const;
