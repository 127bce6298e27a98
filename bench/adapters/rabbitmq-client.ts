// rabbitmq-client through a raw Channel (Connection.acquire()), which skips
// the Publisher/Consumer wrappers' retry and setup machinery. Back-pressure:
// Channel.basicPublish returns a promise that settles once the frames went
// through its socket writer (which itself waits for 'drain'), or on the ack
// in confirm mode, so we keep a bounded window of unsettled publishes.

import { Connection } from 'rabbitmq-client';
import type { Adapter, BenchClient } from '../lib/adapter.js';
import { pkgVersion, Pending, pipeline } from '../lib/adapter.js';

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
        await pipeline(n, o.window, () => ch.basicPublish(queue, body));
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await rabbit.acquire();
        if (!o.noAck) await ch.basicQos({ prefetchCount: o.prefetch });
        let got = 0;
        await new Promise<void>((resolve, reject) => {
          ch.basicConsume({ queue, noAck: o.noAck }, (msg) => {
            if (!o.noAck) ch.basicAck({ deliveryTag: msg.deliveryTag });
            if (++got === n) resolve();
          }).catch(reject);
        });
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
      async close() {
        // Connection.close() waits for acquired channels to be closed
        for (const ch of open) await ch.close();
        await rabbit.close();
      },
    };
  },
};

export default adapter;
