// RecoverableChannel: what a channel does when recovery brings it back on
// a new link (API.md "Recovery: precise semantics"): at link loss it voids
// what was in flight and keeps its consumers; on the new link it opens
// again with its qos and confirm mode, registers its consumers again, then
// lets the calls that waited go out. Recovery (recovery/replay.ts) drives it.

import { BASIC_CONSUME, BASIC_QOS, type BasicQos } from '../generated/basic.js';
import { CHANNEL_OPEN } from '../generated/channel.js';
import { CONFIRM_SELECT } from '../generated/confirm.js';
import { ChannelClosed, type AmqpClosedConnection } from './errors.js';
import { ChannelCore } from './channel-core.js';
import type { MethodArgs } from '../generated/dispatch.js';
import type { RequestId } from '../generated/requests.js';
import type { Reply } from './rpc.js';

export abstract class RecoverableChannel<Self> extends ChannelCore<Self> {
  /** The last basic.qos per `global` flag: recovery sends them again. */
  protected readonly qos = new Map<boolean, BasicQos>();
  /** The queue last declared on this channel: what a consume on '' means. */
  protected lastQueue = '';

  /** The name a queue has now: a server-named queue gets a new one at each recovery. */
  recoveredQueueName(oldName: string): string {
    return this.conn.topology?.currentName(oldName) ?? oldName;
  }

  /** @internal The link dropped and recovery will bring this channel back: void what was in flight, keep the rest. */
  linkDown(err: AmqpClosedConnection): void {
    if (this.state === 'opening' || this.state === 'closing') {
      this.connectionLost(err);
      return;
    }
    if (this.state !== 'open') return;
    // The broker's channel is gone with its flow state: the new one starts active.
    this.flowActive = true;
    this.rpc.failSent(err);
    this.rpc.pause();
    this.confirms?.restart(err);
    this.consumers.dropBuffered();
    this.acks.linkDown();
    this.content.reset();
  }

  /** @internal Recovery: open this channel again on the new link, with its qos and confirm mode. */
  async reopen(): Promise<void> {
    this.replaying = true;
    this.closedInReplay = null;
    this.acks.linkDown();
    await this.rpc.urgent(CHANNEL_OPEN, {});
    this.acks.linkUp();
    for (const q of this.qos.values()) await this.rpc.urgent(BASIC_QOS, q);
    if (this.confirms !== null) await this.rpc.urgent(CONFIRM_SELECT, { noWait: false });
  }

  /**
   * @internal Recovery: register this channel's consumers again (same tags,
   * queues renamed by `rename`). One that fails goes to `failed`, the
   * channel is reopened if the broker closed it, and replay goes on.
   */
  async replayConsumers(rename: (queue: string) => string, failed: (entity: string, cause: unknown) => void): Promise<void> {
    for (const c of this.consumers.replayable()) {
      const args = { ...c.recorded!, queue: rename(c.recorded!.queue) };
      try {
        await this.rpc.urgent(BASIC_CONSUME, args);
        c.recorded = args;
      } catch (err) {
        if (!this.conn.linkUp) throw err;
        this.consumers.remove(c);
        c.state = 'cancelled';
        c.life.end(err instanceof Error ? err : new Error(String(err)));
        failed(`consumer '${c.tag}' on queue '${args.queue}'`, err);
        if (this.closedInReplay !== null) await this.reopen();
      }
    }
  }

  /** @internal Recovery is over: the calls that waited go out. */
  resume(): void {
    this.replaying = false;
    this.rpc.resume();
  }

  /** @internal Recovery without topology: consumers are not registered again, so they end here. */
  forgetConsumers(): void {
    this.consumers.closeAll(new ChannelClosed({ replyText: 'consumer not registered again: recovery without topology' }));
  }

  /** @internal Open a channel of recovery's own while the connection is recovering. */
  async openForRecovery(): Promise<void> {
    await this.rpc.urgent(CHANNEL_OPEN, {});
    if (this.state === 'opening') this.state = 'open';
  }

  /** @internal A request of recovery's own, ahead of the user's waiting calls and never recorded. */
  replayRequest<K extends RequestId>(id: K, args: MethodArgs[K]): Promise<Reply<K> | null> {
    return this.rpc.urgent(id, args);
  }
}
