// amqplib through its promise API (`amqplib`, channel_api). Back-pressure:
// publish/sendToQueue return false when the channel's buffer is full → wait
// for the channel's 'drain'. Confirms through ConfirmChannel callbacks.

import { once } from 'node:events';
import amqplib from 'amqplib';
import type { Adapter, BenchClient } from '../lib/adapter.js';
import { pkgVersion, Pending } from '../lib/adapter.js';

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
        if (!o.confirm) {
          const ch = await conn.createChannel();
          for (let i = 0; i < n; i++) {
            if (!ch.sendToQueue(queue, body)) await once(ch, 'drain');
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
          if (!ch.sendToQueue(queue, body, {}, cb)) await once(ch, 'drain');
        }
        await ch.waitForConfirms();
        if (failure !== null) throw failure;
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await conn.createChannel();
        if (!o.noAck) await ch.prefetch(o.prefetch);
        let got = 0;
        await new Promise<void>((resolve, reject) => {
          ch.on('error', reject);
          ch.consume(
            queue,
            (msg) => {
              if (msg === null) return reject(new Error('consumer cancelled'));
              if (!o.noAck) ch.ack(msg);
              if (++got === n) resolve();
            },
            { noAck: o.noAck },
          ).catch(reject);
        });
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
      close: () => conn.close(),
    };
  },
};

export default adapter;
