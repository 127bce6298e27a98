// Fill a queue before a measurement: n copies of one body through a
// confirm channel, in batches, so the broker holds them all when it returns
// (not timed by the callers).

import type { AmqpProtocol, Channel } from '../../src/index.js';

/** Publish `n` × `body` to `queue` on `ch` (a confirm channel), `batch` confirms in flight at most. */
export async function publishConfirmed(ch: Channel, queue: string, body: Buffer, n: number, batch = 5000): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const pending: Promise<void>[] = [];
    for (let k = i; k < Math.min(n, i + batch); k++) pending.push(ch.publish(body, '', queue));
    await Promise.all(pending);
  }
}

/** publishConfirmed() on a confirm channel of its own, closed afterwards. */
export async function fillQueue(protocol: AmqpProtocol, queue: string, body: Buffer, n: number): Promise<void> {
  const ch = await protocol.channel();
  await ch.confirmSelect();
  await publishConfirmed(ch, queue, body, n);
  await ch.close();
}
