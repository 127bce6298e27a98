// rabbitmq-client through a raw Channel (Connection.acquire()), which skips
// the Publisher/Consumer wrappers' retry and setup machinery. Back-pressure:
// Channel.basicPublish returns a promise that settles once the frames went
// through its socket writer (which itself waits for 'drain'), or on the ack
// in confirm mode, so we keep a bounded window of unsettled publishes.

import { Connection, type Envelope } from 'rabbitmq-client';
import type { Adapter, BenchClient } from '../lib/adapter.js';
import { Countdown, pkgVersion, Pending, pipeline, TS_HEADER } from '../lib/adapter.js';
import type { AppProps } from '../lib/props.js';

const toEnvelope = (queue: string, p: AppProps): Envelope => ({
  routingKey: queue,
  contentType: p.contentType,
  contentEncoding: p.contentEncoding,
  durable: true,
  correlationId: p.correlationId,
  replyTo: p.replyTo,
  messageId: p.messageId,
  timestamp: p.timestamp.getTime() / 1000,
  type: p.type,
  appId: p.appId,
  headers: { ...p.headers },
});

const version = pkgVersion('rabbitmq-client');

const adapter: Adapter = {
  name: 'rabbitmq-client',
  describe: () => `rabbitmq-client ${version}: Channel.basicPublish() promises in a window, Channel.basicConsume() + basicAck()`,
  async connect(url: string): Promise<BenchClient> {
    const rabbit = new Connection({ url, noDelay: true, connectionTimeout: 10000, retryLow: 100, retryHigh: 200 });
    rabbit.on('error', () => undefined);
    await rabbit.onConnect(10000);
    const open: Array<{ close(): Promise<void> }> = [];
    return {
      async publish(queue, body, n, o) {
        const ch = await rabbit.acquire();
        if (o.confirm) await ch.confirmSelect();
        if (o.props) {
          const envs = o.props.map((p) => toEnvelope(queue, p));
          const k = envs.length;
          let i = 0;
          await pipeline(n, o.window, () => ch.basicPublish(envs[i++ % k]!, body));
        } else {
          await pipeline(n, o.window, () => ch.basicPublish(queue, body));
        }
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await rabbit.acquire();
        if (!o.noAck) await ch.basicQos({ prefetchCount: o.prefetch });
        let got = 0;
        let ids = 0;
        await new Promise<void>((resolve, reject) => {
          ch.basicConsume({ queue, noAck: o.noAck }, (msg) => {
            if (o.readProps && msg.messageId !== undefined) ids++;
            if (!o.noAck) ch.basicAck({ deliveryTag: msg.deliveryTag });
            if (++got === n) resolve();
          }).catch(reject);
        });
        if (o.readProps && ids !== n) throw new Error(`read ${ids} message ids of ${n}`);
        await ch.close();
      },
      async rpc(queue) {
        const ch = await rabbit.acquire();
        open.push(ch);
        const pending = new Pending();
        await ch.basicConsume({ queue: 'amq.rabbitmq.reply-to', noAck: true }, (msg) => {
          pending.settle(msg.correlationId, msg.body);
        });
        return (body: Buffer) =>
          new Promise((resolve, reject) => {
            const id = pending.next(resolve);
            ch.basicPublish({ routingKey: queue, replyTo: 'amq.rabbitmq.reply-to', correlationId: id }, body).catch(reject);
          });
      },
      async openChannels(k) {
        const chs = await Promise.all(Array.from({ length: k }, () => rabbit.acquire()));
        return {
          async publishEach(queue, body) {
            await Promise.all(chs.map((ch) => ch.basicPublish(queue, body)));
          },
          async close() {
            await Promise.all(chs.map((ch) => ch.close()));
          },
        };
      },
      async manyQueues(queues, body, n, o) {
        const left = new Countdown(n);
        const consumers = await Promise.all(queues.map(() => rabbit.acquire()));
        await Promise.all(
          consumers.map(async (ch, i) => {
            await ch.basicQos({ prefetchCount: o.prefetch });
            await ch.basicConsume({ queue: queues[i]! }, (msg) => {
              ch.basicAck({ deliveryTag: msg.deliveryTag });
              left.tick();
            });
          }),
        );
        const pub = await rabbit.acquire();
        open.push(pub, ...consumers);
        return async () => {
          const q = queues.length;
          let i = 0;
          await pipeline(n, o.window, () => pub.basicPublish(queues[i++ % q]!, body));
          await left.done;
        };
      },
      async latency(queue, body, onTs) {
        const sub = await rabbit.acquire();
        open.push(sub);
        await sub.basicConsume({ queue, noAck: true }, (msg) => onTs(msg.headers?.[TS_HEADER] as number));
        const pub = await rabbit.acquire();
        open.push(pub);
        return (ts) => void pub.basicPublish({ routingKey: queue, headers: { [TS_HEADER]: ts } }, body).catch(() => undefined);
      },
      async close() {
        // Connection.close() waits for acquired channels to be closed
        for (const ch of open) await ch.close();
        await rabbit.close();
      },
    };
  },
};

export default adapter;
