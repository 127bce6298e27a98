// declare, delete, bind, unbind and purge: one broker method each.

import type { Flags } from './args.js';
import { UsageError, type Command, type Invocation, type OptionSpec } from './command.js';
import { note, write } from './io.js';
import { withChannel } from './session.js';

const ARG: OptionSpec = { type: 'string', multiple: true, arg: 'K=V', help: 'an argument (repeatable); V typed: integer, true/false, else string' };

/** `queue` or `exchange`, the first positional of declare and delete. */
function kind(inv: Invocation, cmd: string): 'queue' | 'exchange' {
  const k = inv.args[0];
  if (k !== 'queue' && k !== 'exchange') throw new UsageError(`expected 'queue' or 'exchange', got '${k ?? ''}'`, cmd);
  return k;
}

/** Options that only one kind takes: using them with the other is a usage error. */
function onlyFor(flags: Flags, cmd: string, k: string, names: Record<string, 'queue' | 'exchange'>): void {
  for (const [name, owner] of Object.entries(names)) {
    if (owner !== k && flags.has(name)) throw new UsageError(`option '--${name}' applies to ${owner}s only`, cmd);
  }
}

export const declare: Command = {
  name: 'declare',
  usage: 'declare queue|exchange NAME [options]',
  summary: 'declare a queue or an exchange',
  description:
    "Declares a queue (NAME '' lets the broker name it) and prints its name on stdout,\n" +
    'with its message and consumer counts on stderr; or declares an exchange.',
  options: {
    durable: { type: 'boolean', help: 'survive a broker restart' },
    'auto-delete': { type: 'boolean', help: 'delete when the last consumer (queue) or binding (exchange) goes' },
    passive: { type: 'boolean', help: 'only check that it exists (404 when it does not)' },
    exclusive: { type: 'boolean', help: 'queue: used by this connection only (deleted when the command ends)' },
    quorum: { type: 'boolean', help: 'queue: a quorum queue (durable, x-queue-type=quorum)' },
    type: { type: 'string', arg: 'TYPE', help: 'exchange: direct (default), fanout, topic, headers, ...' },
    internal: { type: 'boolean', help: 'exchange: not published to directly' },
    arg: ARG,
  },
  minArgs: 2,
  maxArgs: 2,
  async run(inv) {
    const { flags } = inv;
    const k = kind(inv, 'declare');
    onlyFor(flags, 'declare', k, { exclusive: 'queue', quorum: 'queue', type: 'exchange', internal: 'exchange' });
    const name = inv.args[1]!;
    const args = flags.pairs('arg') ?? {};
    const common = { durable: flags.bool('durable'), autoDelete: flags.bool('auto-delete'), passive: flags.bool('passive') };
    if (k === 'exchange') {
      await withChannel(inv.url, (ch) =>
        ch.exchangeDeclare(name, flags.str('type') ?? 'direct', { ...common, internal: flags.bool('internal'), arguments: args }),
      );
      return 0;
    }
    if (flags.bool('quorum')) {
      args['x-queue-type'] = 'quorum';
      common.durable = true;
    }
    const r = await withChannel(inv.url, (ch) => ch.queueDeclare(name, { ...common, exclusive: flags.bool('exclusive'), arguments: args }));
    await write(inv.io.stdout, `${r.queue}\n`);
    note(inv.io, `queue '${r.queue}': ${r.messageCount} messages, ${r.consumerCount} consumers`);
    return 0;
  },
};

export const remove: Command = {
  name: 'delete',
  usage: 'delete queue|exchange NAME [options]',
  summary: 'delete a queue or an exchange',
  options: {
    'if-unused': { type: 'boolean', help: 'only if it has no consumers (queue) or bindings (exchange)' },
    'if-empty': { type: 'boolean', help: 'queue: only if it has no messages' },
  },
  minArgs: 2,
  maxArgs: 2,
  async run(inv) {
    const { flags } = inv;
    const k = kind(inv, 'delete');
    onlyFor(flags, 'delete', k, { 'if-empty': 'queue' });
    const name = inv.args[1]!;
    if (k === 'exchange') {
      await withChannel(inv.url, (ch) => ch.exchangeDelete(name, { ifUnused: flags.bool('if-unused') }));
      return 0;
    }
    const r = await withChannel(inv.url, (ch) => ch.queueDelete(name, { ifUnused: flags.bool('if-unused'), ifEmpty: flags.bool('if-empty') }));
    note(inv.io, `deleted queue '${name}' (${r.messageCount} messages)`);
    return 0;
  },
};

const bindOptions: Record<string, OptionSpec> = {
  'to-exchange': { type: 'boolean', help: 'DESTINATION is an exchange (exchange-to-exchange binding)' },
  arg: ARG,
};

function binding(name: 'bind' | 'unbind'): Command {
  return {
    name,
    usage: `${name} DESTINATION EXCHANGE [ROUTING_KEY] [options]`,
    summary: name === 'bind' ? 'bind a queue (or exchange) to an exchange' : 'remove a binding',
    description: `DESTINATION is a queue, or an exchange with --to-exchange; ROUTING_KEY defaults to ''.`,
    options: bindOptions,
    minArgs: 2,
    maxArgs: 3,
    async run(inv) {
      const [dest, source, key = ''] = inv.args as [string, string, string?];
      const o = { arguments: inv.flags.pairs('arg') ?? {} };
      const e2e = inv.flags.bool('to-exchange');
      await withChannel(inv.url, (ch) => {
        if (name === 'bind') return e2e ? ch.exchangeBind(dest, source, key, o) : ch.queueBind(dest, source, key, o);
        return e2e ? ch.exchangeUnbind(dest, source, key, o) : ch.queueUnbind(dest, source, key, o);
      });
      return 0;
    },
  };
}

export const bind = binding('bind');
export const unbind = binding('unbind');

export const purge: Command = {
  name: 'purge',
  usage: 'purge QUEUE',
  summary: 'remove every ready message from a queue',
  options: {},
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const queue = inv.args[0]!;
    const r = await withChannel(inv.url, (ch) => ch.queuePurge(queue));
    note(inv.io, `purged ${r.messageCount} messages from queue '${queue}'`);
    return 0;
  },
};
