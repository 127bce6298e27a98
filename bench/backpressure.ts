// Back-pressure benchmark (issue 4, scenario 9): publish 1,000,000 × 1 KiB
// messages without confirms as fast as the API allows, and report the
// client's peak RSS (goal: under 150 MB) and the throughput. Not a timed
// test: `npm run bench:backpressure`.
//
// Each mode runs in a fresh process (so the OS's peak-RSS figure belongs to
// that mode alone):
//   await-each  `await ch.publish(...)` for every message
//   window-N    up to N publishes outstanding; wait for the oldest
//   (optional) fire-and-forget: never await (memory bounded only by what the socket holds)
// Messages go to the default exchange with a routing key no queue has, so
// the broker drops them after reading them (the broker's memory stays flat);
// `--target queue` sends them to an exclusive queue capped at 10,000
// messages instead (x-max-length, drop-head).
//
//   npm run bench:backpressure
//   npm run bench:backpressure -- --messages 200000 --size 4096 --modes await-each,window-1000,fire-and-forget
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fromUrl } from '../src/index.js';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';

function arg(name: string, d: string): string {
  const a = process.argv;
  const i = a.indexOf(`--${name}`);
  return i >= 0 && i + 1 < a.length ? a[i + 1]! : d;
}

interface Result {
  mode: string;
  messages: number;
  size: number;
  seconds: number;
  msgsPerSec: number;
  mibPerSec: number;
  /** RSS after connecting, before publishing (MB). */
  rssStartMB: number;
  /** Highest RSS sampled every 10 ms while publishing (MB). */
  rssPeakSampledMB: number;
  /** The kernel's high-water mark for the process (getrusage maxrss, MB). */
  rssPeakOsMB: number;
  heapPeakMB: number;
}

const MB = 1024 * 1024;

async function child(mode: string, messages: number, size: number, target: string): Promise<Result> {
  const [t, p] = await fromUrl(url, { heartbeat: 0 });
  const ch = await p.channel();
  let routingKey = `amqp091-bench-nowhere-${process.pid}`;
  if (target === 'queue') {
    const { queue } = await ch.queueDeclare('', { exclusive: true, arguments: { 'x-max-length': 10_000, 'x-overflow': 'drop-head' } });
    routingKey = queue;
  }
  const payload = Buffer.alloc(size, 0x61);
  // Warm up (JIT, buffers) so the start figure is the steady state.
  for (let i = 0; i < 1000; i++) await ch.publish(payload, '', routingKey);
  globalThis.gc?.();
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  let heapPeak = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    if (m.rss > rssPeak) rssPeak = m.rss;
    if (m.heapUsed > heapPeak) heapPeak = m.heapUsed;
  };
  const sampler = setInterval(sample, 10);

  const t0 = performance.now();
  if (mode === 'await-each') {
    for (let i = 0; i < messages; i++) await ch.publish(payload, '', routingKey);
  } else if (mode.startsWith('window-')) {
    const window = Number(mode.slice('window-'.length));
    const ring: Promise<void>[] = new Array<Promise<void>>(window);
    for (let i = 0; i < messages; i++) {
      const slot = i % window;
      if (i >= window) await ring[slot];
      ring[slot] = ch.publish(payload, '', routingKey);
      if ((i & 1023) === 0) sample();
    }
    await Promise.all(ring.filter((x) => x !== undefined));
  } else if (mode === 'fire-and-forget') {
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < messages; i++) {
      last = ch.publish(payload, '', routingKey);
      if ((i & 1023) === 0) sample();
    }
    await last;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  // Everything handed to the socket: close waits for the broker's close-ok, i.e. for it to read it all.
  await p.close({ timeout: 60_000 });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  sample();
  t.close();
  return {
    mode,
    messages,
    size,
    seconds: Number(seconds.toFixed(2)),
    msgsPerSec: Math.round(messages / seconds),
    mibPerSec: Number(((messages * size) / MB / seconds).toFixed(1)),
    rssStartMB: Number((rssStart / MB).toFixed(1)),
    rssPeakSampledMB: Number((rssPeak / MB).toFixed(1)),
    rssPeakOsMB: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    heapPeakMB: Number((heapPeak / MB).toFixed(1)),
  };
}

function runChild(mode: string, messages: number, size: number, target: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, '--messages', String(messages), '--size', String(size), '--target', target],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${mode}: child exited with ${code}\n${out}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
    });
  });
}

const GOAL_MB = 150;

if (process.argv.includes('--child')) {
  const r = await child(arg('child', 'await-each'), Number(arg('messages', '1000000')), Number(arg('size', '1024')), arg('target', 'drop'));
  console.log(JSON.stringify(r));
} else {
  const messages = Number(arg('messages', '1000000'));
  const size = Number(arg('size', '1024'));
  const target = arg('target', 'drop');
  const modes = arg('modes', 'await-each,window-1000').split(',');
  console.log(`back-pressure: ${messages} × ${size} B, no confirms, target ${target}; node ${process.version}`);
  const results: Result[] = [];
  for (const mode of modes) {
    const r = await runChild(mode, messages, size, target);
    results.push(r);
    console.log(
      `${mode.padEnd(16)} ${r.seconds.toFixed(2).padStart(7)} s  ${String(r.msgsPerSec).padStart(7)} msg/s  ${r.mibPerSec.toFixed(1).padStart(6)} MiB/s  ` +
        `RSS start ${r.rssStartMB} MB, peak ${r.rssPeakSampledMB} MB sampled / ${r.rssPeakOsMB} MB maxrss; heap peak ${r.heapPeakMB} MB  ` +
        `${r.rssPeakOsMB < GOAL_MB ? 'OK' : 'OVER'} (goal < ${GOAL_MB} MB)`,
    );
  }
  console.log(JSON.stringify(results));
  if (results.some((r) => r.rssPeakOsMB >= GOAL_MB && r.mode !== 'fire-and-forget')) process.exitCode = 1;
}
