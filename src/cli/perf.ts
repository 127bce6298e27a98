// perf: RabbitMQ PerfTest's core in one command. Producers and consumers,
// each on its own connection, on one queue (server-named, and deleted at the
// end, unless --queue names one); a line per second on stderr and a summary
// at the end (--json: on stdout).

import { randomBytes } from 'node:crypto';
import { ChannelClosed, type Channel } from '../index.js';
import { type Command, type Invocation } from './command.js';
import { interrupted, note, sleep, write } from './io.js';
import { PerfCounters, PerfReport } from './perf-stats.js';
import { produce, startConsumer, type PerfPlan } from './perf-workers.js';
import { Session } from './session.js';

/** After the producers stop, how long consumers may go without a message before the run ends. */
const DRAIN_IDLE_MS = 2000;

/** Declare the queue (or find the one --queue names); returns its name and whether perf should delete it. */
async function setUpQueue(admin: Session, inv: Invocation): Promise<{ queue: string; owned: boolean }> {
  const quorum = inv.flags.bool('quorum');
  const args = quorum ? { 'x-queue-type': 'quorum' } : {};
  const named = inv.flags.str('queue');
  if (named !== undefined) {
    try {
      await admin.race((await admin.channel()).queueDeclare(named, { passive: true }));
      return { queue: named, owned: false };
    } catch (err) {
      if (!(err instanceof ChannelClosed && err.code === 404)) throw err;
    }
    await admin.race((await admin.channel()).queueDeclare(named, { durable: quorum, arguments: args }));
    return { queue: named, owned: false };
  }
  // RabbitMQ does not name quorum queues itself: pick a unique name.
  const name = quorum ? `amqp091-perf-${randomBytes(6).toString('hex')}` : '';
  // A classic one is auto-delete too, so that a killed run leaves nothing behind once its consumers are gone.
  const r = await admin.race((await admin.channel()).queueDeclare(name, { durable: quorum, autoDelete: !quorum, arguments: args }));
  return { queue: r.queue, owned: true };
}

async function openChannels(n: number, url: string, sessions: Session[]): Promise<Channel[]> {
  const channels: Channel[] = [];
  for (let i = 0; i < n; i++) {
    const s = await Session.open(url);
    sessions.push(s);
    channels.push(await s.race(s.channel()));
  }
  return channels;
}

/** Resolves when consumers have received `target` messages or have gone quiet for DRAIN_IDLE_MS. */
async function drain(c: PerfCounters, target: number): Promise<void> {
  let last = c.received;
  let idle = 0;
  while (c.received < target && idle < DRAIN_IDLE_MS) {
    await sleep(50);
    idle = c.received === last ? idle + 50 : 0;
    last = c.received;
  }
}

export const perf: Command = {
  name: 'perf',
  usage: 'perf [options]',
  summary: 'measure the broker: publish and consume, with rates and latency every second',
  description:
    'Like RabbitMQ PerfTest. Every second prints to stderr the sent, confirmed and received rates\n' +
    'and consumer latency percentiles (from a publish timestamp in a header); at the end (--duration,\n' +
    'or Ctrl-C) a summary. Rates in the summary are over the time spent sending.',
  options: {
    producers: { type: 'string', short: 'x', arg: 'N', help: 'producers, each on its own connection (default 1)' },
    consumers: { type: 'string', short: 'y', arg: 'N', help: 'consumers, each on its own connection (default 1)' },
    size: { type: 'string', short: 's', arg: 'BYTES', help: 'message body size (default 12)' },
    rate: { type: 'string', short: 'r', arg: 'R', help: 'msg/s per producer (default 0 = unlimited)' },
    confirm: { type: 'string', short: 'c', arg: 'N', help: 'publisher confirms, at most N unconfirmed per producer (default off)' },
    queue: { type: 'string', short: 'u', arg: 'QUEUE', help: 'use (declare if missing) this queue and keep it (default: a temporary queue)' },
    quorum: { type: 'boolean', help: 'a quorum queue instead of a classic one' },
    duration: { type: 'string', short: 'z', arg: 'S', help: 'stop after S seconds (default 0 = until Ctrl-C)' },
    'auto-ack': { type: 'boolean', short: 'a', help: 'consumers do not ack (no-ack mode)' },
    prefetch: { type: 'string', short: 'q', arg: 'N', help: 'consumer prefetch count (default 0 = unlimited)' },
    json: { type: 'boolean', help: 'print the summary as one JSON object on stdout' },
  },
  minArgs: 0,
  maxArgs: 0,
  async run(inv) {
    const { flags, io } = inv;
    const producers = flags.int('producers', 1, 0, 1000);
    const consumers = flags.int('consumers', 1, 0, 1000);
    const confirm = flags.int('confirm', 0, 0);
    const durationMs = flags.num('duration', 0) * 1000;
    const base = { size: flags.int('size', 12, 0), rate: flags.num('rate', 0), confirm, autoAck: flags.bool('auto-ack') };
    const prefetch = flags.int('prefetch', 0, 0, 65535);
    const stop = interrupted();
    const sessions: Session[] = [];
    const admin = await Session.open(inv.url);
    let owned: string | null = null;
    const c = new PerfCounters();
    try {
      const q = await setUpQueue(admin, inv);
      if (q.owned) owned = q.queue;
      const plan: PerfPlan = { ...base, queue: q.queue, prefetch };
      note(io, `perf: queue '${q.queue}'${q.owned ? ' (temporary)' : ''}, ${producers} producers, ${consumers} consumers, ${plan.size} B messages`);
      const consumerChannels = await openChannels(consumers, inv.url, sessions);
      const producerChannels = await openChannels(producers, inv.url, sessions);
      const started = performance.now();
      const report = new PerfReport(c, confirm > 0, started);
      for (const ch of consumerChannels) await startConsumer(ch, plan, c, report);
      let stopped = false;
      const ticker = setInterval(() => note(io, report.tick(performance.now())), 1000);
      const timer = durationMs > 0 ? sleep(durationMs) : new Promise<void>(() => undefined);
      const failed = Promise.race(sessions.map((s) => s.failed));
      failed.catch(() => undefined);
      void Promise.race([timer, stop.signal]).then(() => (stopped = true));
      let sendEnd = 0;
      try {
        await Promise.race([Promise.all(producerChannels.map((ch) => produce(ch, plan, c, () => stopped))), failed]);
        // With no producers, run for the duration anyway (consume-only measurement).
        if (producers === 0) await Promise.race([timer, stop.signal, failed]);
        sendEnd = performance.now();
        if (consumers > 0) await Promise.race([drain(c, c.sent), stop.signal.then(() => undefined), failed]);
      } finally {
        stopped = true;
        clearInterval(ticker);
      }
      const summary = report.summary((sendEnd - started) / 1000);
      note(io, PerfReport.text(summary, confirm > 0));
      if (c.nacked > 0) note(io, `nacked ${c.nacked} messages`);
      if (flags.bool('json')) await write(io.stdout, `${JSON.stringify(summary)}\n`);
    } finally {
      stop.dispose();
      await Promise.all(sessions.map((s) => s.close()));
      if (owned !== null) await admin.race((await admin.channel()).queueDelete(owned)).catch(() => undefined);
      await admin.close();
    }
    return 0;
  },
};
