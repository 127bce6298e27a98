// What the fake broker knows across its connections: queues (declared or
// consumed from), their consumers, and the messages clients published.
// Queues hold no messages: deliveries are scripted with `deliver()`, so a
// queue is only a name with consumers to hand them to, in turn.

import { randomBytes } from 'node:crypto';
import type { BasicProperties, BasicPropertiesInit } from '../../generated/basic.js';

/** A message a client published, as the fake broker received it. */
export interface PublishedMessage {
  /** The channel id it was published on. */
  readonly channel: number;
  /** The exchange it was published to ('' for the default exchange). */
  readonly exchange: string;
  /** Its routing key. */
  readonly routingKey: string;
  /** Its mandatory flag. */
  readonly mandatory: boolean;
  /** Its body, whole (the body frames put together). */
  readonly body: Buffer;
  /** Its properties, as the content header carried them. */
  readonly properties: BasicProperties;
}

/** The connection a consumer lives on (a session; an interface so this module does not import it). */
export interface ConsumerHost {
  /** Send basic.deliver + content to the consumer; resolves once written to the socket. */
  deliver(consumer: ConsumerRecord, body: Buffer, properties: BasicPropertiesInit | undefined): Promise<void>;
  /** Tell the client the broker cancelled the consumer (its queue was deleted). */
  cancel(consumer: ConsumerRecord): void;
}

export interface ConsumerRecord {
  readonly tag: string;
  readonly queue: string;
  readonly channel: number;
  readonly noAck: boolean;
  readonly host: ConsumerHost;
}

interface Queue {
  readonly consumers: ConsumerRecord[];
  /** Index of the consumer that gets the next delivery by queue name. */
  next: number;
  /** The connection of an exclusive queue (deleted when it ends), else null. */
  readonly owner: ConsumerHost | null;
}

/** A name like RabbitMQ's generated ones: `amq.gen-…`, `amq.ctag-…`. */
export function generatedName(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}

export class BrokerState {
  readonly published: PublishedMessage[] = [];
  private readonly queues = new Map<string, Queue>();

  /** queue.declare: create the queue if new; '' gets a server-generated name. Returns the name and consumer count. */
  declareQueue(name: string, exclusive: boolean, owner: ConsumerHost): { queue: string; consumerCount: number } {
    const queue = name === '' ? generatedName('amq.gen') : name;
    const q = this.queue(queue, exclusive ? owner : null);
    return { queue, consumerCount: q.consumers.length };
  }

  /** queue.delete: drop the queue; its consumers are cancelled. */
  deleteQueue(name: string): void {
    const q = this.queues.get(name);
    if (q === undefined) return;
    this.queues.delete(name);
    for (const c of q.consumers) c.host.cancel(c);
  }

  addConsumer(c: ConsumerRecord): void {
    this.queue(c.queue, null).consumers.push(c);
  }

  /** Forget the consumers of `host` that `match` selects (a cancel, a closed channel). */
  removeConsumers(host: ConsumerHost, match: (c: ConsumerRecord) => boolean): void {
    for (const q of this.queues.values()) {
      for (let i = q.consumers.length - 1; i >= 0; i--) {
        const c = q.consumers[i]!;
        if (c.host !== host || !match(c)) continue;
        q.consumers.splice(i, 1);
        if (q.next > i) q.next--;
      }
    }
  }

  /** A connection ended: its consumers go, and so do its exclusive queues. */
  connectionEnded(host: ConsumerHost): void {
    this.removeConsumers(host, () => true);
    for (const [name, q] of this.queues) if (q.owner === host) this.queues.delete(name);
  }

  hasConsumerTag(host: ConsumerHost, channel: number, tag: string): boolean {
    for (const q of this.queues.values()) {
      if (q.consumers.some((c) => c.host === host && c.channel === channel && c.tag === tag)) return true;
    }
    return false;
  }

  /**
   * The consumer that gets a delivery: the one with this consumer tag, else
   * the next consumer of the queue with this name (round-robin); undefined
   * when there is none.
   */
  pick(tagOrQueue: string): ConsumerRecord | undefined {
    for (const q of this.queues.values()) {
      const c = q.consumers.find((x) => x.tag === tagOrQueue);
      if (c !== undefined) return c;
    }
    const q = this.queues.get(tagOrQueue);
    if (q === undefined || q.consumers.length === 0) return undefined;
    if (q.next >= q.consumers.length) q.next = 0;
    const c = q.consumers[q.next]!;
    q.next = (q.next + 1) % q.consumers.length;
    return c;
  }

  private queue(name: string, owner: ConsumerHost | null): Queue {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = { consumers: [], next: 0, owner };
      this.queues.set(name, q);
    }
    return q;
  }
}
