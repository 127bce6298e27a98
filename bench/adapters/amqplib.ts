// amqplib through its promise API (`amqplib`, channel_api). Back-pressure:
// publish/sendToQueue return false when the channel's buffer is full → wait
// for the channel's 'drain'. Confirms through ConfirmChannel callbacks.

import { once } from 'node:events';
import amqplib from 'amqplib';
import type { Options } from 'amqplib';
import type { Adapter, BenchClient } from '../lib/adapter.js';
import { Countdown, pkgVersion, Pending, TS_HEADER } from '../lib/adapter.js';
import type { AppProps } from '../lib/props.js';

const toOptions = (p: AppProps): Options.Publish => ({
  contentType: p.contentType,
  contentEncoding: p.contentEncoding,
  persistent: true,
  correlationId: p.correlationId,
  replyTo: p.replyTo,
  messageId: p.messageId,
  timestamp: p.timestamp.getTime() / 1000,
  type: p.type,
  appId: p.appId,
  headers: { ...p.headers },
});

const version = pkgVersion('amqplib');

const adapter: Adapter = {
  name: 'amqplib',
  describe: () => `amqplib ${version}: sendToQueue() + 'drain', ConfirmChannel callbacks, consume() + ack()`,
  async connect(url: string): Promise<BenchClient> {
    // TCP_NODELAY like every other client here (amqplib leaves Nagle on by default)
    const conn = await amqplib.connect(url, { noDelay: true });
    conn.on('error', () => undefined);
    return {
      async publish(queue, body, n, o) {
        const opts: Options.Publish[] = o.props ? o.props.map(toOptions) : [{}];
        const k = opts.length;
        if (!o.confirm) {
          const ch = await conn.createChannel();
          for (let i = 0; i < n; i++) {
            if (!ch.sendToQueue(queue, body, opts[i % k])) await once(ch, 'drain');
          }
          await ch.close();
          return;
        }
        const ch = await conn.createConfirmChannel();
        let inflight = 0;
        let failure: unknown = null;
        let wake: (() => void) | null = null;
        const low = o.window >> 1;
        const cb = (err: unknown): void => {
          inflight--;
          if (err && failure === null) failure = err;
          if (wake !== null && inflight <= low) {
            const w = wake;
            wake = null;
            w();
          }
        };
        for (let i = 0; i < n; i++) {
          if (inflight >= o.window) await new Promise<void>((r) => (wake = r));
          inflight++;
          if (!ch.sendToQueue(queue, body, opts[i % k], cb)) await once(ch, 'drain');
        }
        await ch.waitForConfirms();
        if (failure !== null) throw failure;
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await conn.createChannel();
        if (!o.noAck) await ch.prefetch(o.prefetch);
        let got = 0;
        let ids = 0;
        await new Promise<void>((resolve, reject) => {
          ch.on('error', reject);
          ch.consume(
            queue,
            (msg) => {
              if (msg === null) return reject(new Error('consumer cancelled'));
              if (o.readProps && msg.properties.messageId !== undefined) ids++;
              if (!o.noAck) ch.ack(msg);
              if (++got === n) resolve();
            },
            { noAck: o.noAck },
          ).catch(reject);
        });
        if (o.readProps && ids !== n) throw new Error(`read ${ids} message ids of ${n}`);
        await ch.close();
      },
      async rpc(queue) {
        const ch = await conn.createChannel();
        const pending = new Pending();
        await ch.consume(
          'amq.rabbitmq.reply-to',
          (msg) => {
            if (msg !== null) pending.settle(msg.properties.correlationId as string | undefined, msg.content);
          },
          { noAck: true },
        );
        return (body: Buffer) =>
          new Promise((resolve) => {
            const id = pending.next(resolve);
            ch.sendToQueue(queue, body, { replyTo: 'amq.rabbitmq.reply-to', correlationId: id });
          });
      },
      async openChannels(k) {
        const chs = await Promise.all(Array.from({ length: k }, () => conn.createChannel()));
        return {
          async publishEach(queue, body) {
            // sendToQueue hands the frames to the socket synchronously
            for (const ch of chs) ch.sendToQueue(queue, body);
          },
          async close() {
            await Promise.all(chs.map((ch) => ch.close()));
          },
        };
      },
      async manyQueues(queues, body, n, o) {
        const left = new Countdown(n);
        const consumers = await Promise.all(queues.map(() => conn.createChannel()));
        await Promise.all(
          consumers.map(async (ch, i) => {
            await ch.prefetch(o.prefetch);
            await ch.consume(queues[i]!, (msg) => {
              if (msg === null) return;
              ch.ack(msg);
              left.tick();
            });
          }),
        );
        const pub = await conn.createChannel();
        return async () => {
          const q = queues.length;
          for (let i = 0; i < n; i++) {
            if (!pub.sendToQueue(queues[i % q]!, body)) await once(pub, 'drain');
          }
          await left.done;
        };
      },
      async latency(queue, body, onTs) {
        const sub = await conn.createChannel();
        await sub.consume(queue, (msg) => msg !== null && onTs(msg.properties.headers?.[TS_HEADER] as number), { noAck: true });
        const pub = await conn.createChannel();
        return (ts) => void pub.sendToQueue(queue, body, { headers: { [TS_HEADER]: ts } });
      },
      close: () => conn.close(),
    };
  },
};

export default adapter;
