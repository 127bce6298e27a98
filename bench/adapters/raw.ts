// The raw baseline: pre-encoded frames written straight to the socket, and
// deliveries counted without decoding (see bench/lib/raw.ts). No client can
// do less work per message against this broker, so it is the ceiling.

import type { Adapter, BenchClient } from '../lib/adapter.js';
import { RawConnection, encodePublish, parseUrl } from '../lib/raw.js';
import { encodePublishProps, rawLatency, rawManyQueues, rawOpenChannels } from '../lib/raw-extra.js';

const adapter: Adapter = {
  name: 'raw',
  describe: () => 'hand-written frames on a net.Socket (bench/lib/raw.ts): the ceiling',
  async connect(url: string): Promise<BenchClient> {
    const c = await RawConnection.open(parseUrl(url));
    return {
      // with properties: one template (the first property set) repeated
      publish: (queue, body, n, o) =>
        c.publishMany(queue, body, n, o.props ? { ...o, tpl: encodePublishProps(1, queue, body, c.frameMax, o.props[0]!) } : o),
      consume: (queue, n, o) => c.consumeMany(queue, n, o),
      async rpc(queue) {
        await c.consume('amq.rabbitmq.reply-to', true);
        let seen = c.deliveries;
        let resolve: ((v: unknown) => void) | null = null;
        // A reply is complete once its header arrived and the scanner is
        // between frames at the end of a chunk (its body frames are skipped).
        c.onChunkEnd = () => {
          if (resolve !== null && c.deliveries > seen && c.idle) {
            seen = c.deliveries;
            const r = resolve;
            resolve = null;
            r(undefined);
          }
        };
        let lastBody: Buffer | null = null;
        let tpl: Buffer | null = null;
        return (body: Buffer) => {
          if (body !== lastBody) {
            lastBody = body;
            tpl = encodePublish(1, '', queue, body, c.frameMax, {
              correlationId: '1',
              replyTo: 'amq.rabbitmq.reply-to',
            });
          }
          const p = new Promise<unknown>((r) => (resolve = r));
          c.send(tpl!);
          return p;
        };
      },
      openChannels: (k) => rawOpenChannels(c, k),
      manyQueues: (queues, body, n, o) => rawManyQueues(c, queues, body, n, o.prefetch),
      latency: (queue, body, onTs) => rawLatency(c, queue, body, onTs),
      close: () => c.close(),
    };
  },
};

export default adapter;
