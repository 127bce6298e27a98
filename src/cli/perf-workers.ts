// perf's producers and consumers: each on its own connection (as in
// RabbitMQ's PerfTest), publishing to / consuming from one queue. The
// publish time travels in a header, so consumer latency is measured on one
// clock (producers and consumers share the process).

import { PublishFailed, type Channel } from '../index.js';
import { Pacer, Window } from './flow.js';
import type { PerfCounters, PerfReport } from './perf-stats.js';

/** The header that carries the publish time (ms since the epoch, fractional). */
export const TIMESTAMP_HEADER = 'x-amqp091-perf-ts';

/** Publishes in flight per producer without confirms (they settle when written to the socket). */
const UNCONFIRMED_WINDOW = 256;

export interface PerfPlan {
  queue: string;
  /** body size in bytes */
  size: number;
  /** per producer, msg/s; 0 = unlimited */
  rate: number;
  /** max unconfirmed publishes per producer; 0 = no confirms */
  confirm: number;
  autoAck: boolean;
  prefetch: number;
}

/** Milliseconds since the epoch with sub-millisecond resolution. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Publish until `stopped()` says so, then wait for outstanding confirms. Rejects on a failed channel. */
export async function produce(ch: Channel, plan: PerfPlan, c: PerfCounters, stopped: () => boolean): Promise<void> {
  const confirms = plan.confirm > 0;
  if (confirms) await ch.confirmSelect();
  const body = Buffer.alloc(plan.size, 0x2a);
  const pacer = new Pacer(plan.rate);
  const window = new Window(confirms ? plan.confirm : UNCONFIRMED_WINDOW, (ok, err) => {
    if (!confirms) return;
    if (ok) c.confirmed++;
    else if (err instanceof PublishFailed) c.nacked++;
  });
  const fatal = (): unknown => {
    const err = window.firstError;
    return err === null || err instanceof PublishFailed ? null : err;
  };
  for (let i = 0; !stopped(); i++) {
    await pacer.due(i);
    if (stopped()) break;
    await window.add(() => ch.publish(body, '', plan.queue, { headers: { [TIMESTAMP_HEADER]: now() } }));
    c.sent++;
    if (fatal() !== null) break;
    // Unlimited and unconfirmed, the window can refill from microtasks alone: let timers run.
    if (i % 1000 === 999) await new Promise<void>((r) => setImmediate(r));
  }
  await window.drain();
  if (fatal() !== null) throw fatal();
}

/** Start a consumer that counts messages and records their latency; resolves with its tag. */
export async function startConsumer(ch: Channel, plan: PerfPlan, c: PerfCounters, report: PerfReport): Promise<string> {
  if (!plan.autoAck) await ch.basicQos({ prefetchCount: plan.prefetch });
  const { consumerTag } = await ch.basicConsume(
    (chan, _body, env, properties) => {
      c.received++;
      const ts = properties.headers?.[TIMESTAMP_HEADER];
      if (typeof ts === 'number') report.record(now() - ts);
      if (!plan.autoAck) chan.basicClientAck(env.deliveryTag);
    },
    { queueName: plan.queue, noAck: plan.autoAck },
  );
  return consumerTag;
}
