// `npx tsx bench/iterator-memory.ts [N]`: a slow noAck iterator over N
// small messages (default 1,000,000) keeps the client's memory bounded:
// past highWaterMark the connection stops reading its socket, so the
// messages wait in the broker (and in TCP buffers), not in the process.
// The messages are published by a child process first, so this process
// only consumes; it prints its RSS before consuming and the peak RSS and
// heap sampled every 100 ms while the loop runs.
//
// tsx alone costs ~30 MiB of RSS; to measure the library, bundle first:
//   npx esbuild bench/iterator-memory.ts --bundle --platform=node --format=esm --outfile=/tmp/itermem.mjs
//   node /tmp/itermem.mjs 1000000
// 2026-12-02, 1M × 16 B: RSS 47 MiB before, peak 82 MiB (heap 19 MiB), 23 s;
// with the consumers' ring buffer (src/fifo.ts): peak 55.5 MiB (heap 7.2 MiB), 52 s.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/index.js';
import { publishConfirmed } from './lib/fill.js';

const [, , arg1, arg2] = process.argv;
const port = Number(process.env.AMQP_PORT ?? 5672);

if (arg1 === 'publish') {
  // Child: publish N 16-byte messages to the queue, confirmed in batches.
  const [t, p] = await connect({ host: '127.0.0.1', port });
  const ch = await p.channel();
  await ch.confirmSelect();
  const body = Buffer.alloc(16, 1);
  const n = Number(arg2);
  await publishConfirmed(ch, process.env.QUEUE!, body, n, 10_000);
  await p.close();
  t.close();
} else {
  const N = Number(arg1 ?? 1_000_000);
  const queue = `amqp091-iterator-memory-${process.pid}`;
  const [t, p] = await connect({ host: '127.0.0.1', port });
  const ch = await p.channel();
  await ch.queueDeclare(queue);
  execFileSync('npx', ['tsx', fileURLToPath(import.meta.url), 'publish', String(N)], { env: { ...process.env, QUEUE: queue }, stdio: 'inherit' });
  const { messageCount } = await ch.queueDeclare(queue, { passive: true });
  const rssBefore = process.memoryUsage().rss;
  let peakRss = 0;
  let peakHeap = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);
  const t0 = Date.now();
  const consumer = await ch.consume(queue, { noAck: true });
  let n = 0;
  for await (const _msg of consumer) {
    // A slow loop body: it yields to the event loop all the time.
    if (++n % 100 === 0) await new Promise((r) => setTimeout(r, 0));
    if (n === messageCount) break;
  }
  clearInterval(sample);
  await ch.queueDelete(queue);
  console.log(
    JSON.stringify({
      queued: messageCount,
      consumed: n,
      seconds: (Date.now() - t0) / 1000,
      rssBeforeMiB: +(rssBefore / 2 ** 20).toFixed(1),
      peakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
      peakHeapMiB: +(peakHeap / 2 ** 20).toFixed(1),
    }),
  );
  await p.close();
  t.close();
}
