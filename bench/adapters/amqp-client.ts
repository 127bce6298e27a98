// @cloudamqp/amqp-client through its low-level API (AMQPClient → AMQPChannel).
// Back-pressure: basicPublish returns a promise that settles when the socket
// write completes (or, in confirm mode, on the broker's ack), so we keep a
// bounded window of unsettled publishes (bench/lib/adapter.ts `pipeline`).

import { AMQPClient } from '@cloudamqp/amqp-client';
import type { Adapter, BenchClient } from '../lib/adapter.js';
import { pkgVersion, Pending, pipeline } from '../lib/adapter.js';

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
        await pipeline(n, o.window, () => ch.basicPublish('', queue, body));
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await conn.channel();
        if (!o.noAck) await ch.prefetch(o.prefetch);
        let got = 0;
        let failure: unknown = null;
        const onAckError = (e: unknown): void => {
          failure ??= e;
        };
        await new Promise<void>((resolve, reject) => {
          ch.basicConsume(queue, { noAck: o.noAck }, (msg) => {
            if (!o.noAck) ch.basicAck(msg.deliveryTag).catch(onAckError);
            if (++got === n) resolve();
          }).catch(reject);
        });
        if (failure !== null) throw failure;
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
      close: () => conn.close(),
    };
  },
};

export default adapter;
