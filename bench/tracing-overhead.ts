// What tracing costs the two hot paths: publish (Channel.publish into a
// FrameWriter whose socket discards the bytes) and delivery (Consumer.deliver
// to a synchronous callback), 1M operations each, no broker and no network
// so that a few nanoseconds show.
//
//   npx tsx bench/tracing-overhead.ts [root ...]
//
// Each root is a checkout of this repository (default: this one); run it
// with a checkout from before tracing (`git archive <commit> src generated`
// into a folder) and this one to compare. For every root it measures: no
// subscriber (the path every user without a tracer takes) and, when the
// root has src/tracing.ts, a subscriber on every event of amqp091:publish
// and amqp091:consume. Each measurement runs in a process of its own;
// rounds alternate between the roots; the report gives the median of the
// rounds in ns per operation.
import { tracingChannel } from 'node:diagnostics_channel';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';

const N = 1_000_000;
const BATCH = 10_000;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const roots = process.argv.length > 2 ? process.argv.slice(2) : [path.resolve(import.meta.dirname, '..')];

interface Lib {
  root: string;
  traced: boolean;
  publish(): Promise<number>;
  deliver(): number;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function load(root: string): Promise<Lib> {
  const mod = (p: string): Promise<any> => import(pathToFileURL(path.join(root, p)).href);
  const { Channel } = await mod('src/channel.ts');
  const { FrameWriter } = await mod('src/framing/frame-writer.ts');
  const { AckFrames } = await mod('src/framing/ack-frames.ts');
  const { Consumer } = await mod('src/consumer.ts');
  const { Envelope } = await mod('src/framing/envelope.ts');
  const fw = new FrameWriter((_chunks: Uint8Array[], written: (() => void) | undefined) => {
    written?.();
    return true;
  });
  const host = {
    state: 'open',
    linkUp: true,
    topology: null,
    closeError: null,
    blocked: null,
    fw,
    ackFrames: new AckFrames(fw),
    closeRequested: false,
    userClosed: false,
    reads: { pause() {}, resume() {} },
    remote: { host: '127.0.0.1', port: 5672 },
    report() {},
    releaseChannel() {},
    holdPublish() {},
    releaseHeld() {},
    failHeld() {},
  };
  const ch = Channel.create(host, 1);
  ch.state = 'open';
  const body = Buffer.alloc(100, 1);
  const props = { contentType: 'application/octet-stream', deliveryMode: 2 };
  let count = 0;
  const consumer = new Consumer('bench', () => void count++, 1, true, { channel: ch, report() {} }, { sink: null });
  consumer.activate();
  const envelope = new Envelope('bench', 1, '', 'q', false);
  const properties = {};
  return {
    root,
    traced: existsSync(path.join(root, 'src/tracing.ts')),
    async publish() {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i += BATCH) {
        let last: Promise<void> | undefined;
        for (let j = 0; j < BATCH; j++) last = ch.publish(body, 'bench', 'key', props);
        await last;
      }
      return Number(process.hrtime.bigint() - t0) / N;
    },
    deliver() {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) consumer.deliver(body, envelope, properties);
      return Number(process.hrtime.bigint() - t0) / N;
    },
  };
}

const noop = (): void => undefined;
const everyEvent = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
function subscribe(on: boolean): void {
  for (const name of ['amqp091:publish', 'amqp091:consume']) {
    const tc = tracingChannel(name);
    if (on) tc.subscribe(everyEvent);
    else tc.unsubscribe(everyEvent);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// A child measures one root in one mode, so that no run disturbs another
// (a subscription switches the channels' prototypes, which V8 remembers).
if (process.argv[2] === '--one') {
  const lib = await load(process.argv[3]!);
  subscribe(process.argv[4] === 'subscribed');
  const p: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < 3; i++) {
    p.push(await lib.publish());
    d.push(lib.deliver());
  }
  // The first run warms up; the best of the other two.
  console.log(JSON.stringify({ publish: Math.min(p[1]!, p[2]!), deliver: Math.min(d[1]!, d[2]!) }));
  process.exit(0);
}

const cases = roots.flatMap((root) => [{ root, mode: 'none' }, ...(existsSync(path.join(root, 'src/tracing.ts')) ? [{ root, mode: 'subscribed' }] : [])]);
const results = new Map(cases.map((c) => [`${c.root} ${c.mode}`, { publish: [] as number[], deliver: [] as number[] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const out = execFileSync(process.execPath, [...process.execArgv, import.meta.filename, '--one', c.root, c.mode], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { publish: number; deliver: number };
    results.get(`${c.root} ${c.mode}`)!.publish.push(r.publish);
    results.get(`${c.root} ${c.mode}`)!.deliver.push(r.deliver);
  }
}
console.log(`${N} operations per run, one process per run, median of ${ROUNDS} rounds (ns per operation)`);
for (const [name, r] of results) {
  console.log(`${name}\n  publish ${median(r.publish).toFixed(1)}  (min ${Math.min(...r.publish).toFixed(1)})\n  deliver ${median(r.deliver).toFixed(1)}  (min ${Math.min(...r.deliver).toFixed(1)})`);
}
