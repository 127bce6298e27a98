// Consumer: one basic.consume subscription. Deliveries are queued and
// handed to the callback in order, at most `concurrency` callbacks at a
// time (1 by default: the next waits for the previous promise to settle).
// A callback that throws or rejects goes to the connection's onError.

import type { Envelope } from './framing/envelope.js';
import type { BasicConsume, BasicProperties } from '../generated/basic.js';
import type { ConsumerLifecycle } from './consumer-state.js';
import { Fifo } from './fifo.js';
import { consumeTrace, traced } from './tracing.js';

/** A consumer callback; `Ch` is the channel type it receives (Channel). */
export type ConsumerCallbackOf<Ch> = (channel: Ch, body: Buffer, envelope: Envelope, properties: BasicProperties) => void | Promise<void>;

/**
 * starting: basic.consume sent, callbacks held until its promise resolved.
 * active: deliveries flow to the callback.
 * cancelling: the user cancelled; late deliveries are rejected (requeued).
 * cancelled: gone at the broker; what was already received still runs.
 */
export type ConsumerState = 'starting' | 'active' | 'cancelling' | 'cancelled';

export interface Delivery {
  body: Buffer;
  envelope: Envelope;
  properties: BasicProperties;
}

export interface ConsumerHost<Ch> {
  readonly channel: Ch;
  report(err: unknown): void;
}

export class Consumer<Ch> {
  state: ConsumerState = 'starting';
  /** Set once the basicConsume promise has resolved: callbacks may run. */
  ready = false;
  /** Callbacks running now. */
  inFlight = 0;
  /** The basic.consume the broker accepted (queue resolved): what recovery sends again; null until consume-ok. */
  recorded: BasicConsume | null = null;
  private readonly queue = new Fifo<Delivery>();
  private pumping = false;

  constructor(
    readonly tag: string,
    private readonly callback: ConsumerCallbackOf<Ch>,
    readonly concurrency: number,
    readonly noAck: boolean,
    private readonly host: ConsumerHost<Ch>,
    /** What the user sees of this consumer (state, error, closed, cancel). */
    readonly life: ConsumerLifecycle,
  ) {}

  /**
   * A delivery arrived: when nothing is buffered and the concurrency allows,
   * straight to the callback (no Delivery wrapper, no queue entry);
   * otherwise buffered in order.
   */
  deliver(body: Buffer, envelope: Envelope, properties: BasicProperties): void {
    if (
      this.queue.length === 0 &&
      this.ready &&
      !this.pumping &&
      this.inFlight < this.concurrency &&
      (this.state === 'active' || this.state === 'cancelled')
    ) {
      this.run(body, envelope, properties);
      return;
    }
    this.queue.push({ body, envelope, properties });
    this.pump();
  }

  /** The basicConsume promise has resolved: start calling back. */
  activate(): void {
    this.ready = true;
    if (this.state === 'starting') this.state = 'active';
    this.pump();
  }

  /** Take every buffered delivery out (to reject them on cancel, or drop them on close). */
  takeBuffered(): Delivery[] {
    return this.queue.drain();
  }

  /** Hand buffered deliveries to the callback while the concurrency allows. */
  pump(): void {
    if (this.pumping || !this.ready) return;
    this.pumping = true;
    try {
      while (
        (this.state === 'active' || this.state === 'cancelled') &&
        this.inFlight < this.concurrency &&
        this.queue.length !== 0
      ) {
        const d = this.queue.shift()!;
        this.run(d.body, d.envelope, d.properties);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Call back for one delivery; its promise (if any) holds a concurrency slot. */
  private run(body: Buffer, envelope: Envelope, properties: BasicProperties): void {
    this.inFlight++;
    let r: unknown;
    try {
      // Traced (tracing.ts) only when someone subscribes; an iterator's messages are traced when handed out instead.
      r =
        consumeTrace.hasSubscribers && this.life.sink === null
          ? traced.consume(this.recorded?.queue ?? '', envelope, properties, this.callback, this.host.channel, body, envelope, properties)
          : this.callback(this.host.channel, body, envelope, properties);
    } catch (err) {
      this.inFlight--;
      this.host.report(err);
      return;
    }
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<void>).then === 'function') {
      (r as PromiseLike<void>).then(this.settled, this.failed);
    } else {
      this.inFlight--;
    }
  }

  private readonly settled = (): void => {
    this.inFlight--;
    this.pump();
  };

  private readonly failed = (err: unknown): void => {
    this.inFlight--;
    this.host.report(err);
    this.pump();
  };
}
