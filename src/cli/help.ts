// --help texts, generated from the command specs.

import { GLOBAL_OPTIONS } from './args.js';
import type { Command, OptionSpec } from './command.js';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const short = o.short === undefined ? '    ' : `-${o.short}, `;
    const arg = o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : '';
    return [`  ${short}--${name}${arg}`, o.help] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, h]) => l.padEnd(width) + h);
}

/** `amqp091 COMMAND --help`. */
export function commandHelp(c: Command): string {
  const lines = [`Usage: amqp091 ${c.usage}`, '', c.summary];
  if (c.description !== undefined) lines.push('', c.description);
  if (Object.keys(c.options).length > 0) lines.push('', 'Options:', ...optionLines(c.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  return `${lines.join('\n')}\n`;
}

/** `amqp091 --help`: the command list. */
export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.usage.length)) + 4;
  const lines = [
    'Usage: amqp091 COMMAND [ARGS] [options]',
    '',
    'A command line for AMQP 0-9-1 brokers (RabbitMQ).',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.usage.padEnd(width)}${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    "Run 'amqp091 COMMAND --help' for a command's options.",
    'Exit status: 0 ok, 1 broker or connection error, 2 usage error, 3 get found the queue empty.',
  ];
  return `${lines.join('\n')}\n`;
}
