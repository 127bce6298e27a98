// TopologyRecorder: what the user declared on one connection (exchanges,
// queues, bindings), kept so that recovery can declare it again. Records
// outlive the channel that made them (these entities are broker-wide); a
// delete or unbind on any channel drops them. Server-named queues get a new
// name at each replay: the rename map lets bindings, consumers and
// `recoveredQueueName` follow it. Consumers themselves are recorded by their
// channel (ConsumerRegistry); the recorder only counts them per queue, to
// forget an auto-delete queue when its last consumer is cancelled.

import type { FieldTable } from '../wire/index.js';

export interface ExchangeRecord {
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

export interface QueueRecord {
  /** The current name (the broker's, for a server-named queue). */
  name: string;
  serverNamed: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
}

export interface BindingRecord {
  kind: 'queue' | 'exchange';
  /** A queue (kind 'queue') or an exchange (kind 'exchange'). */
  destination: string;
  source: string;
  routingKey: string;
  arguments: FieldTable;
}

function bindingKey(b: BindingRecord): string {
  return JSON.stringify([b.kind, b.destination, b.source, b.routingKey, b.arguments]);
}

export class TopologyRecorder {
  readonly exchanges = new Map<string, ExchangeRecord>();
  readonly queues = new Map<string, QueueRecord>();
  readonly bindings = new Map<string, BindingRecord>();
  /** Any name a server-named queue ever had → its current name. */
  private readonly renamed = new Map<string, string>();
  private readonly consumerCounts = new Map<string, number>();

  declareExchange(r: ExchangeRecord): void {
    this.exchanges.set(r.name, r);
  }

  deleteExchange(name: string): void {
    this.exchanges.delete(name);
    for (const [k, b] of this.bindings) {
      if (b.source === name || (b.kind === 'exchange' && b.destination === name)) this.bindings.delete(k);
    }
  }

  declareQueue(r: QueueRecord): void {
    this.queues.set(r.name, r);
  }

  deleteQueue(name: string): void {
    const current = this.currentName(name);
    this.queues.delete(current);
    this.consumerCounts.delete(current);
    for (const [k, b] of this.bindings) if (b.kind === 'queue' && b.destination === current) this.bindings.delete(k);
  }

  bind(b: BindingRecord): void {
    this.bindings.set(bindingKey(b), b);
  }

  unbind(b: BindingRecord): void {
    this.bindings.delete(bindingKey(b));
  }

  /** A consumer on `queue` started (or was replayed). */
  consumerAdded(queue: string): void {
    const q = this.currentName(queue);
    this.consumerCounts.set(q, (this.consumerCounts.get(q) ?? 0) + 1);
  }

  /** The user cancelled a consumer on `queue`: an auto-delete queue goes with its last consumer. */
  consumerCancelled(queue: string): void {
    const q = this.currentName(queue);
    const n = (this.consumerCounts.get(q) ?? 1) - 1;
    if (n > 0) {
      this.consumerCounts.set(q, n);
      return;
    }
    this.consumerCounts.delete(q);
    if (this.queues.get(q)?.autoDelete) this.deleteQueue(q);
  }

  /** The current name of a queue that may have been renamed by recovery (else `name` itself). */
  currentName(name: string): string {
    return this.renamed.get(name) ?? name;
  }

  /** A server-named queue came back as `now`: its record, bindings and every older name follow. */
  rename(was: string, now: string): void {
    if (was === now) return;
    const q = this.queues.get(was);
    if (q !== undefined) {
      this.queues.delete(was);
      this.queues.set(now, { ...q, name: now });
    }
    for (const [k, b] of [...this.bindings]) {
      if (b.kind === 'queue' && b.destination === was) {
        this.bindings.delete(k);
        this.bind({ ...b, destination: now });
      }
    }
    for (const [old, cur] of this.renamed) if (cur === was) this.renamed.set(old, now);
    this.renamed.set(was, now);
    const n = this.consumerCounts.get(was);
    if (n !== undefined) {
      this.consumerCounts.delete(was);
      this.consumerCounts.set(now, n);
    }
  }
}
