// `npx tsx bench/iterator-wakeups.ts [N] [rounds] [16|4096] [noack|ack]`:
// the three consumer forms against the broker (callback, iterator, and the
// `for await` floor of bench/lib/forawait-floor.ts), with the client's CPU
// per message split into what each message costs and what each wake-up
// costs.
//
// Why: at 16 B the broker, not the client, sets the pace, so each socket
// read brings only the few deliveries that arrived since the last one, and
// a read costs about as much client CPU as ten 16 B deliveries. On a busy
// machine (2026-12-02: 4–14 messages per read) a run's CPU per message
// followed its number of reads, which moved 3× between runs of the same
// form. Counting the reads (read syscalls, Linux /proc/self/io) and fitting
// cpu/msg = perMessage + perRead × reads/msg over all runs (one perMessage
// per form, one shared perRead) gives each form's cost at equal wake-ups.
// On a quiet machine the reads barely vary, no slope can be fitted, and the
// medians themselves compare the forms at about equal wake-ups.

import { readFileSync } from 'node:fs';
import { fromUrl, type Channel, type Envelope } from '../src/index.js';
import { forAwaitFloor } from './lib/forawait-floor.js';
import { fillQueue } from './lib/fill.js';
import { median } from './lib/sys.js';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 6);
const SIZE = Number(process.argv[4] ?? 16);
const NO_ACK = (process.argv[5] ?? 'noack') === 'noack';
const FORMS = ['callback', 'iterator', 'floor'] as const;
type Form = (typeof FORMS)[number];

const [, protocol] = await fromUrl(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');
const admin = await protocol.channel();

/** Read syscalls of this process so far (each socket read is one). */
function readCalls(): number {
  const m = /^syscr: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (m === null) throw new Error('/proc/self/io has no syscr line: this script needs Linux');
  return Number(m[1]);
}

async function consume(ch: Channel, queue: string, form: Form): Promise<void> {
  let got = 0;
  if (form === 'iterator') {
    for await (const msg of await ch.consume(queue, { noAck: NO_ACK })) {
      msg.ack(); // a no-op with noAck
      if (++got === N) break;
    }
    return;
  }
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  if (form === 'callback') {
    const { consumerTag } = await ch.basicConsume(
      (c, _body, env) => {
        if (!NO_ACK) c.basicClientAck(env.deliveryTag);
        if (++got === N) done();
      },
      { queueName: queue, noAck: NO_ACK },
    );
    await finished;
    await ch.basicCancel(consumerTag);
    return;
  }
  const feed = forAwaitFloor<Envelope>();
  const { consumerTag } = await ch.basicConsume((_c, _body, env) => feed.push(env), { queueName: queue, noAck: NO_ACK });
  for await (const env of feed.iterable) {
    if (!NO_ACK) ch.basicClientAck(env.deliveryTag);
    if (++got === N) break;
  }
  await ch.basicCancel(consumerTag);
}

interface Run {
  form: Form;
  /** Client CPU µs per message. */
  cpu: number;
  /** Socket reads per message. */
  reads: number;
}

const runs: Run[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const form of r % 2 === 0 ? FORMS : [...FORMS].reverse()) {
    const { queue } = await admin.queueDeclare('', { exclusive: true });
    await fillQueue(protocol, queue, Buffer.alloc(SIZE, 7), N);
    const ch = await protocol.channel();
    await ch.basicQos({ prefetchCount: 1000 });
    const reads0 = readCalls();
    const cpu0 = process.cpuUsage();
    await consume(ch, queue, form);
    const cpu = process.cpuUsage(cpu0);
    runs.push({ form, cpu: (cpu.user + cpu.system) / N, reads: (readCalls() - reads0) / N });
    await ch.close();
    await admin.queueDelete(queue);
  }
}
await protocol.close();

/**
 * Least squares for cpu = perMessage[form] + perRead × reads: one intercept
 * per form, one shared slope (the cost of a wake-up does not depend on what
 * the loop does with the messages it brings).
 */
function fit(rs: Run[]): { perRead: number; perMessage: Record<Form, number> } {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  let sxy = 0;
  let sxx = 0;
  const centre = {} as Record<Form, { x: number; y: number }>;
  for (const f of FORMS) {
    const own = rs.filter((r) => r.form === f);
    centre[f] = { x: mean(own.map((r) => r.reads)), y: mean(own.map((r) => r.cpu)) };
    for (const r of own) {
      sxy += (r.reads - centre[f].x) * (r.cpu - centre[f].y);
      sxx += (r.reads - centre[f].x) ** 2;
    }
  }
  const perRead = sxx === 0 ? 0 : sxy / sxx;
  const perMessage = {} as Record<Form, number>;
  for (const f of FORMS) perMessage[f] = centre[f].y - perRead * centre[f].x;
  return { perRead, perMessage };
}

const { perRead, perMessage } = fit(runs);
/** The reads per message the forms are compared at: the median over all runs. */
const typicalReads = median(runs.map((r) => r.reads));
const atTypical = (f: Form): number => perMessage[f] + perRead * typicalReads;
const scenario = `consume-${NO_ACK ? 'noack' : 'ack'}-${SIZE % 1024 === 0 ? `${SIZE / 1024}KiB` : `${SIZE}B`}`;
/** A wake-up cannot cost less than nothing: a slope ≤ 0 means the reads varied too little between runs to fit one. */
const fitted = perRead > 0;
console.log(
  `${scenario}: ${ROUNDS} interleaved rounds of ${N} messages per form; ` +
    (fitted
      ? `fitted: a wake-up (socket read) costs ${perRead.toFixed(1)} µs; forms compared at ${(1 / typicalReads).toFixed(1)} messages per read (the median of all runs)\n`
      : 'the reads per message varied too little between runs to fit the cost of a wake-up: the medians compare the forms at about equal wake-ups\n'),
);
console.log(
  '| form | CPU µs/msg, median (min–max) | median / callback | messages per read, median (min–max) | per message alone µs | CPU µs/msg at equal reads | at equal reads / callback |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const callbackCpu = median(runs.filter((r) => r.form === 'callback').map((r) => r.cpu));
for (const f of FORMS) {
  const own = runs.filter((r) => r.form === f);
  const cpu = own.map((r) => r.cpu);
  const perReadMsgs = own.map((r) => 1 / r.reads);
  const range = (xs: number[], d: number): string => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  console.log(
    `| ${f} | ${range(cpu, 2)} | ${(median(cpu) / callbackCpu).toFixed(2)}× | ${range(perReadMsgs, 1)} | ${fitted ? `${perMessage[f].toFixed(2)} | ${atTypical(f).toFixed(2)} | ${(atTypical(f) / atTypical('callback')).toFixed(2)}×` : 'n/a | n/a | n/a'} |`,
  );
}
