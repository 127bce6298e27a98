// Topology replay, in API.md's order: the user's channels open again (with
// their qos and confirm mode); then, on a channel of recovery's own,
// exchanges, queues, exchange bindings and queue bindings; then each
// channel's consumers. An entity that fails goes to onError as a
// TopologyRecoveryError and replay goes on; a link lost meanwhile rejects
// (the attempt failed and the next one starts over).

import { EXCHANGE_BIND, EXCHANGE_DECLARE } from '../../generated/exchange.js';
import { QUEUE_BIND, QUEUE_DECLARE } from '../../generated/queue.js';
import type { Channel } from '../channel.js';
import { ChannelClosed, TopologyRecoveryError } from '../errors.js';
import type { TopologyRecorder } from './topology.js';

export interface ReplayHost {
  isLinkUp(): boolean;
  /** The user's channels to bring back, in id order. */
  userChannels(): Channel[];
  /** Open a channel of recovery's own on the new link. */
  openRecoveryChannel(): Promise<Channel>;
  report(err: unknown): void;
}

type Failed = (entity: string, cause: unknown) => void;

export async function replay(host: ReplayHost, topology: TopologyRecorder | null): Promise<void> {
  const failed: Failed = (entity, cause) => {
    if (!host.isLinkUp()) throw cause;
    host.report(new TopologyRecoveryError(entity, cause));
  };
  const channels = host.userChannels();
  for (const ch of channels) {
    try {
      await ch.reopen();
    } catch (err) {
      failed(`channel ${ch.channelId}`, err);
      ch.connectionLost(err instanceof ChannelClosed ? err : new ChannelClosed({ replyText: 'recovery could not open the channel again', cause: err }));
    }
  }
  if (topology === null) {
    for (const ch of channels) ch.forgetConsumers();
    return;
  }
  await replayEntities(host, topology, failed);
  for (const ch of channels) {
    if (ch.isOpen) await ch.replayConsumers((q) => topology.currentName(q), failed);
  }
}

/** Exchanges, queues, then bindings, on one channel of recovery's own (reopened after a failure). */
async function replayEntities(host: ReplayHost, t: TopologyRecorder, failed: Failed): Promise<void> {
  let ch = await host.openRecoveryChannel();
  const run = async (entity: string, send: (ch: Channel) => Promise<unknown>): Promise<void> => {
    try {
      await send(ch);
    } catch (err) {
      failed(entity, err);
      if (!ch.isOpen) ch = await host.openRecoveryChannel();
    }
  };
  for (const e of [...t.exchanges.values()]) {
    const args = { exchange: e.name, type: e.type, passive: false, durable: e.durable, autoDelete: e.autoDelete, internal: e.internal, noWait: false, arguments: e.arguments };
    await run(`exchange '${e.name}'`, (c) => c.replayRequest(EXCHANGE_DECLARE, args));
  }
  for (const q of [...t.queues.values()]) {
    const args = { queue: q.serverNamed ? '' : q.name, passive: false, durable: q.durable, exclusive: q.exclusive, autoDelete: q.autoDelete, noWait: false, arguments: q.arguments };
    await run(`queue '${q.name}'`, async (c) => {
      const m = await c.replayRequest(QUEUE_DECLARE, args);
      if (q.serverNamed && m !== null) t.rename(q.name, m.args.queue);
    });
  }
  const bindings = [...t.bindings.values()];
  for (const b of bindings.filter((x) => x.kind === 'exchange')) {
    const args = { destination: b.destination, source: b.source, routingKey: b.routingKey, noWait: false, arguments: b.arguments };
    await run(`exchange binding ${b.source} → ${b.destination} '${b.routingKey}'`, (c) => c.replayRequest(EXCHANGE_BIND, args));
  }
  for (const b of bindings.filter((x) => x.kind === 'queue')) {
    const args = { queue: t.currentName(b.destination), exchange: b.source, routingKey: b.routingKey, noWait: false, arguments: b.arguments };
    await run(`queue binding ${b.source} → ${b.destination} '${b.routingKey}'`, (c) => c.replayRequest(QUEUE_BIND, args));
  }
  if (ch.isOpen) await ch.close();
}
