import { connect } from '../src/index.js';
import { Message } from '../src/message.js';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const ses = new Session(); ses.connect(); await ses.post('Profiler.enable'); await ses.post('Profiler.setSamplingInterval', { interval: 100 });
let round = 0;
const N = 70_000;
const [t, p] = await connect({ host: '127.0.0.1', port: 5672 });
const ch = await p.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });
const pub = await p.channel(); await pub.confirmSelect();
const body = Buffer.alloc(16, 7);
const sock = (p as any).core?.socket ?? (p as any).conn?.socket;
let reads = 0, bytes = 0, pauses = 0;
const s: any = (() => { for (const k of Object.keys(p as any)) { const v = (p as any)[k]; if (v && v.socket) return v.socket; } return null; })();
const sockets = (process as any)._getActiveHandles().filter((h: any) => h.constructor?.name === 'Socket' && h.remotePort === 5672);
for (const so of sockets) { so.on('data', (c: Buffer) => { reads++; bytes += c.length; }); const op = so.pause.bind(so); so.pause = () => { pauses++; return op(); }; }
for (const form of (process.argv[2] ?? 'it,cb,it,cb,it,cb').split(',')) {
reads = 0; bytes = 0; pauses = 0;
for (let i = 0; i < N; i += 5000) { const b: Promise<void>[] = []; for (let k = i; k < Math.min(N, i + 5000); k++) b.push(pub.publish(body, '', queue)); await Promise.all(b); }
const c = await p.channel();
if (process.env.PROF) await ses.post('Profiler.start');
const cpu0 = process.cpuUsage(); const t0 = performance.now();
let n = 0;
if (form === 'it') { for await (const m of await c.consume(queue, { noAck: true })) { m.ack(); if (++n === N) break; } }
else if (form === 'minmsg') {
  const settler = { noAck: true, ack() {}, nack() {}, reject() {} };
  const buf: Message[] = []; let head = 0; let wake: ((r: IteratorResult<Message>) => void) | null = null;
  void c.basicConsume((_c, body, env, props) => { const m = new Message(body, env, props, settler); if (wake !== null) { const w = wake; wake = null; w({ done: false, value: m }); } else buf.push(m); }, { queueName: queue, noAck: true });
  const iter: AsyncIterable<Message> = { [Symbol.asyncIterator]: () => ({ next: () => { if (head < buf.length) { const v = buf[head]!; buf[head++] = undefined as never; if (head === buf.length) { buf.length = 0; head = 0; } return Promise.resolve({ done: false, value: v }); } return new Promise((r) => (wake = r)); } }) };
  for await (const m of iter) { m.ack(); if (++n === N) break; }
}
else if (form === 'min') {
  // the least a for-await adapter over the callback can do: buffer, one resolved promise + result per message
  const buf: unknown[] = []; let head = 0; let wake: ((r: IteratorResult<unknown>) => void) | null = null;
  void c.basicConsume((_c, body) => { if (wake !== null) { const w = wake; wake = null; w({ done: false, value: body }); } else buf.push(body); }, { queueName: queue, noAck: true });
  const iter: AsyncIterable<unknown> = { [Symbol.asyncIterator]: () => ({ next: () => { if (head < buf.length) { const v = buf[head++]; if (head === buf.length) { buf.length = 0; head = 0; } return Promise.resolve({ done: false, value: v }); } return new Promise((r) => (wake = r)); } }) };
  for await (const _m of iter) { if (++n === N) break; }
}
else { await new Promise<void>((res) => { void c.basicConsume(() => { if (++n === N) res(); }, { queueName: queue, noAck: true }); }); }
const cpu = process.cpuUsage(cpu0);
if (process.env.PROF) { const { profile } = await ses.post('Profiler.stop'); writeFileSync(`/tmp/itb/p-${form}-${round++}.cpuprofile`, JSON.stringify(profile)); }
console.log(form, 'user', (cpu.user / N).toFixed(2), 'sys', (cpu.system / N).toFixed(2), 'ms', (performance.now() - t0).toFixed(0), 'reads', reads, 'avg', (bytes / reads).toFixed(0), 'pauses', pauses, 'sockets', sockets.length);
await c.close();
}
await p.close(); t.close();
