// Argument builders shared by the Channel methods: the defaults of the
// declare flags, binding arguments as the codecs and the topology recorder
// take them, and the quiet rejection that fire-and-forget publishes need.

import type { ExchangeBind } from '../generated/exchange.js';
import type { QueueBind, QueueUnbind } from '../generated/queue.js';
import { TimeoutError } from './errors.js';
import type { BindOptions, ExchangeDeclareOptions, QueueDeclareOptions, Timeout } from './channel-options.js';
import type { BindingRecord } from './recovery/topology.js';

/** A rejected promise that is not reported as unhandled if the caller ignores it (publish). */
export function quietRejection(err: unknown): Promise<never> {
  const p = Promise.reject(err);
  p.catch(() => undefined);
  return p;
}

/** Turns a method's reply into the `void` the public method resolves with. */
export const done = (): void => undefined;

/**
 * `p` bounded by `o.timeout` and `o.signal`: rejects with `TimeoutError` or
 * the signal's reason when they come first, after `giveUp` (which drops a
 * publish still held). Never reported as unhandled.
 */
export function bound(p: Promise<void>, o: Timeout, giveUp: () => void): Promise<void> {
  const out = new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    const cleanup = (): void => {
      if (timer !== null) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    };
    const expire = (err: unknown): void => {
      cleanup();
      giveUp();
      reject(err);
    };
    const onAbort = (): void => expire(o.signal!.reason);
    if (o.timeout !== undefined) timer = setTimeout(() => expire(new TimeoutError(`publish: not settled within ${o.timeout} ms`)), o.timeout);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        cleanup();
        resolve();
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
  out.catch(() => undefined);
  return out;
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
