// Argument builders shared by the Channel methods: the defaults of the
// declare flags, binding arguments as the codecs and the topology recorder
// take them, and the quiet rejection that fire-and-forget publishes need.

import type { ExchangeBind } from '../generated/exchange.js';
import type { QueueBind, QueueUnbind } from '../generated/queue.js';
import type { BindOptions, ExchangeDeclareOptions, QueueDeclareOptions } from './channel-options.js';
import type { BindingRecord } from './recovery/topology.js';

/** A rejected promise that is not reported as unhandled if the caller ignores it (publish). */
export function quietRejection(err: unknown): Promise<never> {
  const p = Promise.reject(err);
  p.catch(() => undefined);
  return p;
}

/** The flags queue.declare and exchange.declare share, with their defaults. */
export function declareFlags(o: QueueDeclareOptions | ExchangeDeclareOptions) {
  return {
    passive: o.passive ?? false,
    durable: o.durable ?? false,
    autoDelete: o.autoDelete ?? false,
    noWait: o.noWait ?? false,
    arguments: o.arguments ?? {},
  };
}

export function exchangeBinding(destination: string, source: string, routingKey: string, o: BindOptions): ExchangeBind {
  return { destination, source, routingKey, noWait: o.noWait ?? false, arguments: o.arguments ?? {} };
}

/** A queue binding as the topology recorder keeps it. */
export function queueBinding(a: QueueBind | QueueUnbind): BindingRecord {
  return { kind: 'queue', destination: a.queue, source: a.exchange, routingKey: a.routingKey, arguments: a.arguments };
}

/** An exchange-to-exchange binding as the topology recorder keeps it. */
export function exchangeBindingRecord(a: ExchangeBind): BindingRecord {
  return { kind: 'exchange', destination: a.destination, source: a.source, routingKey: a.routingKey, arguments: a.arguments };
}
