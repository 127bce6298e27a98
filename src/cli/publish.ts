// publish: one message (or --count of them, at --rate) from the argument,
// a file or stdin, with properties and headers from flags.

import { MessageReturned, PublishFailed, type Channel } from '../index.js';
import { UsageError, type Command, type Invocation } from './command.js';
import { Pacer, Window } from './flow.js';
import { note, readAll, readBodyFile } from './io.js';
import { PROPERTY_OPTIONS, propertiesFrom } from './properties.js';
import { withChannel } from './session.js';

/** Unconfirmed publishes in flight: each resolves when its frames reach the socket. */
const UNCONFIRMED_WINDOW = 256;
const CONFIRMED_WINDOW = 1000;

async function body(inv: Invocation): Promise<Buffer> {
  const file = inv.flags.str('file');
  const arg = inv.args[0];
  if (file !== undefined && arg !== undefined) throw new UsageError('give the body as an argument or with --file, not both', 'publish');
  if (arg !== undefined) return Buffer.from(arg, 'utf8');
  if (file !== undefined) return readBodyFile(file === '-' ? '/dev/stdin' : file, 'publish');
  if (inv.io.stdin.isTTY === true) note(inv.io, 'reading the body from stdin (end it with Ctrl-D)');
  return readAll(inv.io.stdin);
}

function target(inv: Invocation): { exchange: string; routingKey: string } {
  const queue = inv.flags.str('queue');
  const exchange = inv.flags.str('exchange') ?? '';
  const key = inv.flags.str('routing-key');
  if (queue !== undefined) {
    if (exchange !== '' || key !== undefined) throw new UsageError("--queue publishes to the default exchange: drop --exchange and --routing-key", 'publish');
    return { exchange: '', routingKey: queue };
  }
  if (exchange === '' && key === undefined) throw new UsageError('say where to publish: --queue QUEUE, or --exchange and --routing-key', 'publish');
  return { exchange, routingKey: key ?? '' };
}

export const publish: Command = {
  name: 'publish',
  usage: 'publish [BODY] [options]',
  summary: 'publish a message (body from the argument, --file, or stdin)',
  description:
    'Without BODY and --file the body is read from stdin, byte for byte.\n' +
    'Without --confirm a publish is done once its bytes are handed to the socket.',
  options: {
    exchange: { type: 'string', short: 'e', arg: 'EXCHANGE', help: "exchange to publish to (default '', the default exchange)" },
    'routing-key': { type: 'string', short: 'k', arg: 'KEY', help: "routing key (default '')" },
    queue: { type: 'string', short: 'q', arg: 'QUEUE', help: 'publish straight to QUEUE (default exchange, routing key QUEUE)' },
    file: { type: 'string', short: 'f', arg: 'PATH', help: 'read the body from a file' },
    confirm: { type: 'boolean', help: 'wait for the broker to confirm every message (exit 1 on a nack)' },
    mandatory: { type: 'boolean', help: 'fail (exit 1) when a message cannot be routed to a queue; implies --confirm' },
    count: { type: 'string', short: 'n', arg: 'N', help: 'publish the message N times (default 1)' },
    rate: { type: 'string', arg: 'R', help: 'at most R messages per second (default 0 = unlimited)' },
    ...PROPERTY_OPTIONS,
  },
  minArgs: 0,
  maxArgs: 1,
  async run(inv) {
    const { flags } = inv;
    const { exchange, routingKey } = target(inv);
    const properties = propertiesFrom(flags);
    const count = flags.int('count', 1, 1);
    const pacer = new Pacer(flags.num('rate', 0));
    const mandatory = flags.bool('mandatory');
    const confirm = flags.bool('confirm') || mandatory;
    const payload = await body(inv);
    let returned = '';
    let returns = 0;
    const window = new Window(confirm ? CONFIRMED_WINDOW : UNCONFIRMED_WINDOW);
    await withChannel(inv.url, async (ch: Channel) => {
      if (confirm) await ch.confirmSelect();
      ch.returnCallback = (_ch, _body, env) => {
        returns++;
        returned = `${env.replyCode} ${env.replyText}`;
      };
      for (let i = 0; i < count && window.firstError === null; i++) {
        await pacer.due(i);
        // On a confirm channel a returned message rejects its own publish (MessageReturned): count it.
        await window.add(() =>
          ch.publish(payload, exchange, routingKey, properties, { mandatory }).catch((e: unknown) => {
            if (!(e instanceof MessageReturned)) throw e;
            returns++;
            returned = `${e.replyCode} ${e.replyText}`;
          }),
        );
      }
      await window.drain();
    });
    const err = window.firstError;
    if (err instanceof PublishFailed) throw new Error(`the broker nacked ${window.failed} of ${count} messages`);
    if (err !== null) throw err;
    if (count > 1) note(inv.io, `published ${count} messages${confirm ? ', all confirmed' : ''}`);
    if (returns > 0) throw new Error(`${returns} of ${count} messages returned unroutable: ${returned}`);
    return 0;
  },
};
