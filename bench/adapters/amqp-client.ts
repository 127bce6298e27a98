// @cloudamqp/amqp-client through its low-level API (AMQPClient → AMQPChannel).
// Back-pressure: basicPublish returns a promise that settles when the socket
// write completes (or, in confirm mode, on the broker's ack), so we keep a
// bounded window of unsettled publishes (bench/lib/adapter.ts `pipeline`).

import { AMQPClient, type AMQPProperties } from '@cloudamqp/amqp-client';
import type { Adapter, BenchClient } from '../lib/adapter.js';
import { Countdown, pkgVersion, Pending, pipeline, TS_HEADER } from '../lib/adapter.js';
import type { AppProps } from '../lib/props.js';

const toProps = (p: AppProps): AMQPProperties => ({
  contentType: p.contentType,
  contentEncoding: p.contentEncoding,
  deliveryMode: 2,
  correlationId: p.correlationId,
  replyTo: p.replyTo,
  messageId: p.messageId,
  timestamp: p.timestamp,
  type: p.type,
  appId: p.appId,
  headers: { ...p.headers },
});

const version = pkgVersion('@cloudamqp/amqp-client');

const adapter: Adapter = {
  name: 'amqp-client',
  describe: () => `@cloudamqp/amqp-client ${version}: AMQPChannel.basicPublish() promises in a window, basicConsume() + basicAck()`,
  async connect(url: string): Promise<BenchClient> {
    const client = new AMQPClient(url, undefined, null);
    const conn = await client.connect();
    // TCP_NODELAY like every other client here (AMQPClient leaves Nagle on)
    client.socket?.setNoDelay(true);
    return {
      async publish(queue, body, n, o) {
        const ch = await conn.channel();
        if (o.confirm) await ch.confirmSelect();
        if (o.props) {
          const props = o.props.map(toProps);
          const k = props.length;
          let i = 0;
          await pipeline(n, o.window, () => ch.basicPublish('', queue, body, props[i++ % k]));
        } else {
          await pipeline(n, o.window, () => ch.basicPublish('', queue, body));
        }
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await conn.channel();
        if (!o.noAck) await ch.prefetch(o.prefetch);
        let got = 0;
        let ids = 0;
        let failure: unknown = null;
        const onAckError = (e: unknown): void => {
          failure ??= e;
        };
        await new Promise<void>((resolve, reject) => {
          ch.basicConsume(queue, { noAck: o.noAck }, (msg) => {
            if (o.readProps && msg.properties.messageId !== undefined) ids++;
            if (!o.noAck) ch.basicAck(msg.deliveryTag).catch(onAckError);
            if (++got === n) resolve();
          }).catch(reject);
        });
        if (failure !== null) throw failure;
        if (o.readProps && ids !== n) throw new Error(`read ${ids} message ids of ${n}`);
        await ch.close();
      },
      async rpc(queue) {
        const ch = await conn.channel();
        const pending = new Pending();
        await ch.basicConsume('amq.rabbitmq.reply-to', { noAck: true }, (msg) => {
          pending.settle(msg.properties.correlationId, msg.body);
        });
        return (body: Buffer) =>
          new Promise((resolve, reject) => {
            const id = pending.next(resolve);
            ch.basicPublish('', queue, body, { replyTo: 'amq.rabbitmq.reply-to', correlationId: id }).catch(reject);
          });
      },
      async openChannels(k) {
        const chs = await Promise.all(Array.from({ length: k }, () => conn.channel()));
        return {
          async publishEach(queue, body) {
            await Promise.all(chs.map((ch) => ch.basicPublish('', queue, body)));
          },
          async close() {
            await Promise.all(chs.map((ch) => ch.close()));
          },
        };
      },
      async manyQueues(queues, body, n, o) {
        const left = new Countdown(n);
        let failure: unknown = null;
        const onAckError = (e: unknown): void => {
          failure ??= e;
        };
        const consumers = await Promise.all(queues.map(() => conn.channel()));
        await Promise.all(
          consumers.map(async (ch, i) => {
            await ch.prefetch(o.prefetch);
            await ch.basicConsume(queues[i]!, { noAck: false }, (msg) => {
              ch.basicAck(msg.deliveryTag).catch(onAckError);
              left.tick();
            });
          }),
        );
        const pub = await conn.channel();
        return async () => {
          const q = queues.length;
          let i = 0;
          await pipeline(n, o.window, () => pub.basicPublish('', queues[i++ % q]!, body));
          await left.done;
          if (failure !== null) throw failure;
        };
      },
      async latency(queue, body, onTs) {
        const sub = await conn.channel();
        await sub.basicConsume(queue, { noAck: true }, (msg) => onTs(msg.properties.headers?.[TS_HEADER] as number));
        const pub = await conn.channel();
        return (ts) => void pub.basicPublish('', queue, body, { headers: { [TS_HEADER]: ts } }).catch(() => undefined);
      },
      close: () => conn.close(),
    };
  },
};

export default adapter;
