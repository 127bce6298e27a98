// The tool's entry point as a function: find the command, parse its line,
// run it, and turn every failure into one line on stderr and an exit status.

import { AmqpError } from '../index.js';
import { DEFAULT_URL, findCommand, parseCommandLine } from './args.js';
import { EXIT, UsageError, type Command, type Io } from './command.js';
import { consume, get } from './consume.js';
import { commandHelp, mainHelp } from './help.js';
import { perf } from './perf.js';
import { publish } from './publish.js';
import { bind, declare, purge, remove, unbind } from './topology.js';

export const COMMANDS: readonly Command[] = [declare, remove, bind, unbind, purge, publish, consume, get, perf];

/** The one line printed for an error. */
export function describeError(err: unknown): string {
  if (err instanceof UsageError) {
    const hint = err.command === undefined ? "'amqp091 --help'" : `'amqp091 ${err.command} --help'`;
    return `amqp091${err.command === undefined ? '' : ` ${err.command}`}: ${err.message} (see ${hint})`;
  }
  if (err instanceof AmqpError || err instanceof Error) return `amqp091: ${err.message.split('\n')[0]}`;
  return `amqp091: ${String(err)}`;
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const { name, rest } = findCommand(argv);
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    const cmd = COMMANDS.find((c) => c.name === topic);
    if (cmd !== undefined) {
      io.stdout.write(commandHelp(cmd));
      return EXIT.ok;
    }
    if (topic !== undefined) throw new UsageError(`unknown command '${topic}'`);
    // Parse anyway so that an unknown option is reported as such.
    const { flags } = parseCommandLine('', rest, {});
    if (flags.bool('help') || name === 'help') {
      io.stdout.write(mainHelp(COMMANDS));
      return EXIT.ok;
    }
    io.stderr.write(mainHelp(COMMANDS));
    return EXIT.usage;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) throw new UsageError(`unknown command '${name}'`);
  const { args, flags } = parseCommandLine(cmd.name, rest, cmd.options);
  if (flags.bool('help')) {
    io.stdout.write(commandHelp(cmd));
    return EXIT.ok;
  }
  if (args.length < cmd.minArgs) throw new UsageError(`missing arguments: amqp091 ${cmd.usage}`, cmd.name);
  if (args.length > cmd.maxArgs) throw new UsageError(`unexpected argument '${args[cmd.maxArgs]!}'`, cmd.name);
  const url = flags.str('url') ?? io.env['AMQP_URL'] ?? DEFAULT_URL;
  return cmd.run({ args, flags, url, io });
}

/** Run the tool; resolves with the exit status (never rejects). */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    io.stderr.write(`${describeError(err)}\n`);
    if (err instanceof UsageError) return EXIT.usage;
    if (io.env['AMQP091_DEBUG'] && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT.error;
  }
}
