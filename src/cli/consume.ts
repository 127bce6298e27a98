// consume and get: print messages from a queue, as bodies or `--json` lines.

import { ConsumerCancelled, EmptyQueue } from '../index.js';
import { EXIT, type Command } from './command.js';
import { interrupted, note, write } from './io.js';
import { formatMessage } from './message-json.js';
import { Session, withChannel } from './session.js';

const JSON_OPTION = { type: 'boolean', help: 'one JSON object per line: { exchange, routingKey, redelivered, properties, body | bodyBase64 }' } as const;

export const consume: Command = {
  name: 'consume',
  usage: 'consume QUEUE [options]',
  summary: 'print messages from a queue as they arrive (Ctrl-C stops)',
  description:
    'Prints each body followed by a newline (or --json lines) on stdout, then acks the message;\n' +
    'at the end (--count reached, Ctrl-C) prints the number of messages received on stderr.\n' +
    'Messages delivered beyond --count are not acked and go back to the queue, except with --no-ack.',
  options: {
    count: { type: 'string', short: 'n', arg: 'N', help: 'stop after N messages (default: run until Ctrl-C)' },
    json: JSON_OPTION,
    ack: { type: 'boolean', help: 'ack each message once printed (the default)' },
    'no-ack': { type: 'boolean', help: 'let the broker consider messages acked as it sends them (faster; unsafe)' },
    prefetch: { type: 'string', arg: 'N', help: 'unacked messages the broker may send ahead (default: --count, at most 100)' },
  },
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const { flags, io } = inv;
    const queue = inv.args[0]!;
    const count = flags.int('count', 0, 1);
    const noAck = flags.bool('no-ack') && !flags.bool('ack');
    const prefetch = flags.int('prefetch', count > 0 && count < 100 ? count : 100, 0, 65535);
    const json = flags.bool('json');
    const session = await Session.open(inv.url);
    const stop = interrupted();
    let received = 0;
    let finish!: (err?: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (err?: unknown) => (err === undefined ? resolve() : reject(err));
    });
    try {
      const ch = await session.race(session.channel());
      if (!noAck) await session.race(ch.basicQos({ prefetchCount: prefetch }));
      ch.addCancellationCallback((_ch, tag) => finish(new ConsumerCancelled(tag)));
      const { consumerTag } = await session.race(
        ch.basicConsume(
          async (c, body, env, properties) => {
            if (count > 0 && received >= count) return; // not acked: requeued when the channel closes
            received++;
            const m = { exchange: env.exchangeName, routingKey: env.routingKey, redelivered: env.isRedeliver, properties, body };
            try {
              await write(io.stdout, formatMessage(m, json, true));
            } catch (err) {
              received--;
              finish((err as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : err);
              return;
            }
            if (!noAck) c.basicClientAck(env.deliveryTag);
            if (received === count) finish();
          },
          { queueName: queue, noAck },
        ),
      );
      await session.race(Promise.race([finished, stop.signal]));
      await session.race(ch.basicCancel(consumerTag)).catch(() => undefined);
    } finally {
      stop.dispose();
      await session.close();
    }
    note(io, `received ${received} messages`);
    return EXIT.ok;
  },
};

export const get: Command = {
  name: 'get',
  usage: 'get QUEUE [options]',
  summary: 'take one message from a queue and print it (exit 3 when empty)',
  description:
    'Prints the body as is (plus a newline on a terminal), or --json; acks the message unless --requeue.\n' +
    'On an empty queue prints nothing and exits with status 3.',
  options: {
    json: JSON_OPTION,
    requeue: { type: 'boolean', help: 'put the message back on the queue instead of removing it' },
  },
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const { flags, io } = inv;
    const queue = inv.args[0]!;
    return withChannel(inv.url, async (ch) => {
      let r;
      try {
        r = await ch.basicGet(queue);
      } catch (err) {
        if (err instanceof EmptyQueue) return EXIT.empty;
        throw err;
      }
      const m = { exchange: r.exchangeName, routingKey: r.routingKey, redelivered: r.redelivered, properties: r.properties, body: r.message };
      try {
        await write(io.stdout, formatMessage(m, flags.bool('json'), io.stdout.isTTY === true));
      } catch (err) {
        ch.basicClientNack(r.deliveryTag, { requeue: true });
        throw err;
      }
      if (flags.bool('requeue')) ch.basicClientNack(r.deliveryTag, { requeue: true });
      else ch.basicClientAck(r.deliveryTag);
      return EXIT.ok;
    });
  },
};
