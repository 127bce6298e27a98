// amqp091 (this repository, src/index.ts) through its public API as documented
// in API.md: fromUrl() → protocol.channel() → publish()/basicConsume(); RPC
// through protocol.rpcClient() (direct reply-to). `oursAdapter('iterator')`
// is the same client consuming with `for await` over channel.consume()
// (bench/adapters/ours-iterator.ts), to compare the two consumer forms;
// `oursAdapter('floor')` consumes with `for await` over the plainest async
// iterator, the floor of any iterator (paired runs, bench/lib/paired.ts).
// Back-pressure: without confirms a publish promise resolves once its frames
// are handed to the socket and the socket is below its high-water mark; in
// confirm mode it resolves on the broker's ack. Either way we keep a bounded
// window of unsettled publishes (bench/lib/adapter.ts `pipeline`).

import type { Adapter, BenchClient, ConsumeOptions } from '../lib/adapter.js';
import { Countdown, pipeline, TS_HEADER } from '../lib/adapter.js';
import type { AppProps } from '../lib/props.js';
import { forAwaitFloor } from '../lib/forawait-floor.js';
import { fromUrl, type Channel, type Envelope, type PropertiesInit } from '../../src/index.js';

const toProps = (p: AppProps): PropertiesInit => ({
  contentType: p.contentType,
  contentEncoding: p.contentEncoding,
  deliveryMode: 2,
  correlationId: p.correlationId,
  replyTo: p.replyTo,
  messageId: p.messageId,
  timestamp: p.timestamp,
  messageType: p.type,
  appId: p.appId,
  headers: { ...p.headers },
});

/** Consume n messages with a basicConsume() callback. */
async function consumeWithCallback(ch: Channel, queue: string, n: number, o: ConsumeOptions): Promise<number> {
  let got = 0;
  let ids = 0;
  await new Promise<void>((resolve, reject) => {
    ch.basicConsume(
      (c, _body, env, props) => {
        if (o.readProps && props.messageId !== undefined) ids++;
        if (!o.noAck) c.basicClientAck(env.deliveryTag);
        if (++got === n) resolve();
      },
      { queueName: queue, noAck: o.noAck },
    ).catch(reject);
  });
  return ids;
}

/** Consume n messages with `for await` over channel.consume(). */
async function consumeWithIterator(ch: Channel, queue: string, n: number, o: ConsumeOptions): Promise<number> {
  let got = 0;
  let ids = 0;
  for await (const msg of await ch.consume(queue, { noAck: o.noAck })) {
    if (o.readProps && msg.properties.messageId !== undefined) ids++;
    msg.ack(); // a no-op with noAck
    if (++got === n) break;
  }
  return ids;
}

/**
 * Consume n messages with `for await` over the plainest possible iterator
 * (bench/lib/forawait-floor.ts) fed by a basicConsume() callback: what any
 * iterator costs at least. Paired runs only (bench/lib/paired.ts).
 */
async function consumeWithFloor(ch: Channel, queue: string, n: number, o: ConsumeOptions): Promise<number> {
  if (o.readProps) throw new Error('the for-await floor runs the bare consume scenarios only');
  const feed = forAwaitFloor<Envelope>();
  const { consumerTag } = await ch.basicConsume((_c, _body, env) => feed.push(env), { queueName: queue, noAck: o.noAck });
  let got = 0;
  for await (const env of feed.iterable) {
    if (!o.noAck) ch.basicClientAck(env.deliveryTag);
    if (++got === n) break;
  }
  await ch.basicCancel(consumerTag); // as leaving channel.consume()'s loop does
  return 0;
}

export type ConsumerForm = 'callback' | 'iterator' | 'floor';
const CONSUME: Record<ConsumerForm, typeof consumeWithCallback> = { callback: consumeWithCallback, iterator: consumeWithIterator, floor: consumeWithFloor };

/** The adapter for this repository's client, consuming in the given form. */
export function oursAdapter(form: ConsumerForm): Adapter {
  const consumeIn = CONSUME[form];
  return {
    name: { callback: 'ours', iterator: 'ours-iterator', floor: 'ours-floor' }[form],
    describe: () =>
      ({
        callback: 'amqp091 (src/): channel.publish() promises in a window, basicConsume() + basicClientAck(), protocol.rpcClient().call()',
        iterator: 'amqp091 (src/): for await over channel.consume() + msg.ack(); the consume scenarios at 16 B and 4 KiB only',
        floor: 'amqp091 (src/): for await over the plainest async iterator fed by basicConsume(); in paired runs only',
      })[form],
    ...(form === 'callback' ? {} : { scenarios: ['consume-ack-16B', 'consume-ack-4KiB', 'consume-noack-16B', 'consume-noack-4KiB'] }),
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
          if (o.props) {
            const props = o.props.map(toProps);
            const k = props.length;
            let i = 0;
            await pipeline(n, o.window, () => ch.publish(body, '', queue, props[i++ % k]));
          } else {
            await pipeline(n, o.window, () => ch.publish(body, '', queue));
          }
          check();
          await ch.close();
        },
        async consume(queue, n, o) {
          const ch = await protocol.channel();
          if (!o.noAck) await ch.basicQos({ prefetchCount: o.prefetch });
          const ids = await consumeIn(ch, queue, n, o);
          if (o.readProps && ids !== n) throw new Error(`read ${ids} message ids of ${n}`);
          check();
          await ch.close();
        },
        async rpc(queue) {
          const client = await protocol.rpcClient();
          return (body: Buffer) => client.call('', queue, body);
        },
        async openChannels(k) {
          const chs = await Promise.all(Array.from({ length: k }, () => protocol.channel()));
          return {
            async publishEach(queue, body) {
              await Promise.all(chs.map((ch) => ch.publish(body, '', queue)));
            },
            async close() {
              await Promise.all(chs.map((ch) => ch.close()));
            },
          };
        },
        async manyQueues(queues, body, n, o) {
          const left = new Countdown(n);
          const consumers = await Promise.all(queues.map(() => protocol.channel()));
          await Promise.all(
            consumers.map(async (ch, i) => {
              await ch.basicQos({ prefetchCount: o.prefetch });
              await ch.basicConsume(
                (c, _body, env) => {
                  c.basicClientAck(env.deliveryTag);
                  left.tick();
                },
                { queueName: queues[i]! },
              );
            }),
          );
          const pub = await protocol.channel();
          return async () => {
            const q = queues.length;
            let i = 0;
            await pipeline(n, o.window, () => pub.publish(body, '', queues[i++ % q]!));
            await left.done;
            check();
          };
        },
        async latency(queue, body, onTs) {
          const sub = await protocol.channel();
          await sub.basicConsume((_c, _body, _env, props) => onTs(props.headers?.[TS_HEADER] as number), { queueName: queue, noAck: true });
          const pub = await protocol.channel();
          return (ts) => void pub.publish(body, '', queue, { headers: { [TS_HEADER]: ts } });
        },
        async close() {
          await protocol.close();
          transport.close();
        },
      };
    },
  };
}

export default oursAdapter('callback');
