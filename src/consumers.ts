// ConsumerRegistry: a channel's consumers by tag, and the tags it
// cancelled recently. A delivery can cross the user's basic.cancel on the
// wire; the registry tells the channel to give such a message back
// (requeue) rather than treat an unknown tag as a protocol error.

import type { Consumer } from './consumer.js';
import { ConsumerCancelled } from './errors.js';

/** How many cancelled consumer tags a channel remembers (to reject their late deliveries). */
const CANCELLED_MEMORY = 1024;

/** Where a delivery goes: its consumer, back to the queue, or nowhere (noAck: already gone). */
export type Route<Ch> = Consumer<Ch> | 'requeue' | 'drop' | 'unknown';

export class ConsumerRegistry<Ch> {
  private readonly active = new Map<string, Consumer<Ch>>();
  /** Recently cancelled tag → whether it was noAck. */
  private readonly cancelled = new Map<string, boolean>();

  get(tag: string): Consumer<Ch> | undefined {
    return this.active.get(tag);
  }

  has(tag: string): boolean {
    return this.active.has(tag);
  }

  add(consumer: Consumer<Ch>): void {
    this.active.set(consumer.tag, consumer);
    this.cancelled.delete(consumer.tag);
  }

  /** Forget `consumer` if it is still the one registered under its tag. */
  remove(consumer: Consumer<Ch>): boolean {
    if (this.active.get(consumer.tag) !== consumer) return false;
    this.active.delete(consumer.tag);
    return true;
  }

  /** The user cancels `consumer` (or its start failed): its late deliveries are given back. */
  cancelling(consumer: Consumer<Ch>): void {
    consumer.state = 'cancelling';
    this.remember(consumer.tag, consumer.noAck);
  }

  /** The user's cancel of `consumer` was never sent (aborted while queued): it is active again. */
  cancelWithdrawn(consumer: Consumer<Ch>): void {
    consumer.state = 'active';
    this.cancelled.delete(consumer.tag);
  }

  /** The broker cancelled `consumer`: it is gone, what it buffered still runs (an iterator ends with ConsumerCancelled). */
  cancelledByServer(consumer: Consumer<Ch>): void {
    this.active.delete(consumer.tag);
    this.remember(consumer.tag, consumer.noAck);
    consumer.state = 'cancelled';
    consumer.life.end(new ConsumerCancelled(consumer.tag, consumer.recorded?.queue ?? ''));
    consumer.pump();
  }

  route(tag: string): Route<Ch> {
    const consumer = this.active.get(tag);
    if (consumer !== undefined && consumer.state !== 'cancelling') return consumer;
    const noAck = consumer?.noAck ?? this.cancelled.get(tag);
    if (noAck === undefined) return 'unknown';
    return noAck ? 'drop' : 'requeue';
  }

  /** The channel ended (`err` null: as the user asked): every consumer is cancelled and its buffer dropped. */
  closeAll(err: Error | null): void {
    for (const c of this.active.values()) {
      c.state = 'cancelled';
      c.takeBuffered();
      c.life.end(err);
    }
    this.active.clear();
    this.cancelled.clear();
  }

  /** The link dropped: buffered deliveries are void (the broker requeues them); consumers stay. */
  dropBuffered(): void {
    for (const c of this.active.values()) {
      c.takeBuffered();
      c.life.sink?.linkDown();
    }
    this.cancelled.clear();
  }

  /** Consumers that the broker had started, in the order they started: what recovery registers again. */
  replayable(): Consumer<Ch>[] {
    return [...this.active.values()].filter((c) => c.recorded !== null && (c.state === 'active' || c.state === 'starting'));
  }

  tags(): string[] {
    return [...this.active.keys()];
  }

  private remember(tag: string, noAck: boolean): void {
    this.cancelled.set(tag, noAck);
    if (this.cancelled.size > CANCELLED_MEMORY) {
      const oldest = this.cancelled.keys().next().value;
      if (oldest !== undefined) this.cancelled.delete(oldest);
    }
  }
}
