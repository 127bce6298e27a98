// amqp091 (this repository, src/index.ts) through its public API as documented
// in API.md: fromUrl() → protocol.channel() → publish()/basicConsume().
// Back-pressure: without confirms a publish promise resolves once its frames
// are handed to the socket and the socket is below its high-water mark; in
// confirm mode it resolves on the broker's ack. Either way we keep a bounded
// window of unsettled publishes (bench/lib/adapter.ts `pipeline`).

import type { Adapter, BenchClient } from '../lib/adapter.js';
import { Pending, pipeline } from '../lib/adapter.js';
import { fromUrl } from '../../src/index.js';

const adapter: Adapter = {
  name: 'ours',
  describe: () => 'amqp091 (src/): channel.publish() promises in a window, basicConsume() + basicClientAck()',
  async connect(url: string): Promise<BenchClient> {
    let asyncError: Error | null = null;
    const [transport, protocol] = await fromUrl(url, {
      onError: (e) => {
        asyncError ??= e;
      },
    });
    const check = (): void => {
      if (asyncError !== null) throw asyncError;
    };
    return {
      async publish(queue, body, n, o) {
        const ch = await protocol.channel();
        if (o.confirm) await ch.confirmSelect();
        await pipeline(n, o.window, () => ch.publish(body, '', queue));
        check();
        await ch.close();
      },
      async consume(queue, n, o) {
        const ch = await protocol.channel();
        if (!o.noAck) await ch.basicQos({ prefetchCount: o.prefetch });
        let got = 0;
        await new Promise<void>((resolve, reject) => {
          ch.basicConsume(
            (c, _body, env) => {
              if (!o.noAck) c.basicClientAck(env.deliveryTag);
              if (++got === n) resolve();
            },
            { queueName: queue, noAck: o.noAck },
          ).catch(reject);
        });
        check();
        await ch.close();
      },
      async rpc(queue) {
        const ch = await protocol.channel();
        const pending = new Pending();
        await ch.basicConsume((_c, body, _env, props) => pending.settle(props.correlationId, body), {
          queueName: 'amq.rabbitmq.reply-to',
          noAck: true,
        });
        return (body: Buffer) =>
          new Promise((resolve, reject) => {
            const id = pending.next(resolve);
            ch.publish(body, '', queue, { replyTo: 'amq.rabbitmq.reply-to', correlationId: id }).catch(reject);
          });
      },
      async close() {
        await protocol.close();
        transport.close();
      },
    };
  },
};

export default adapter;
