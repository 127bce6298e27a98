// One outcome per publish on a confirm channel (API.md "Publish outcome").
// basic.return carries no delivery tag, so a mandatory publish on a
// confirm channel carries its own in the header `x-amqp091-seq`, added on
// a copy of the caller's properties; a return is matched by it to exactly
// one waiting publish, which rejects with MessageReturned (the header
// taken out of the properties it reports). Non-mandatory publishes are
// never returned and pay nothing. Also waitForConfirms.

import type { BasicProperties, BasicPropertiesInit, BasicReturn } from '../generated/basic.js';
import type { ConfirmTracker } from './confirms.js';
import { TimeoutError } from './errors.js';
import { MessageReturned } from './message-returned.js';

/** The header a mandatory publish on a confirm channel carries: its delivery tag (an integer). */
export const SEQ_HEADER = 'x-amqp091-seq';

/** A copy of `properties` whose headers (also a copy) carry `tag`. */
export function withSeq(properties: BasicPropertiesInit | undefined, tag: number): BasicPropertiesInit {
  return { ...properties, headers: { ...properties?.headers, [SEQ_HEADER]: tag } };
}

/**
 * A basic.return on a confirm channel: when it carries the tag of a
 * publish still waiting, reject that publish with MessageReturned and say
 * true; otherwise false (it goes to returnCallback or onError as before).
 */
export function settleReturned(confirms: ConfirmTracker, a: BasicReturn, body: Buffer, properties: BasicProperties): boolean {
  const headers = properties.headers;
  if (headers === undefined) return false;
  const v: unknown = headers[SEQ_HEADER];
  const tag = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
  if (!(tag > 0)) return false;
  return confirms.returned(tag, (bare) => {
    if (bare) properties.headers = undefined;
    else delete headers[SEQ_HEADER];
    return new MessageReturned(a.replyCode, a.replyText, a.exchange, a.routingKey, body, properties, tag);
  });
}

/**
 * waitForConfirms: settles once the publishes written so far (in
 * `confirms`) and those still held (`held`, in publish order) have all
 * settled; rejects with the failure of the earliest failing one.
 */
export function waitForAll(confirms: ConfirmTracker, held: Iterable<Promise<void>>, timeout: number | undefined): Promise<void> {
  const written = confirms.whenSettled();
  const all = Promise.allSettled([written.promise, ...held]).then((results) => {
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  });
  if (timeout === undefined) return all;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      written.cancel();
      reject(new TimeoutError(`waitForConfirms: publishes still unsettled after ${timeout} ms`));
    }, timeout);
    all.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
