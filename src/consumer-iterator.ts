// Consumer: what channel.consume() resolves with, an AsyncIterable of
// Messages over one basic.consume subscription (API.md "Consumers: async
// iterator and state"). Deliveries reach it through an ordinary callback
// consumer (consumer.ts) whose callback buffers them here; the loop takes
// them in order. Its lifecycle (state, error, closed, cancel) is the
// ConsumerLifecycle of that subscription, which tells it, as its sink,
// when the user cancels, when the cancel is sent, when the link drops and
// when the consumer ends.
//
// Memory: above `highWaterMark` buffered messages the connection stops
// reading its socket (resumed at half), so a slow loop holds the broker
// back instead of filling memory. With acks, prefetch bounds it first.

import type { BasicProperties } from '../generated/basic.js';
import type { ConsumerHandle, ConsumerLifecycle, ConsumerSink, ConsumerState } from './consumer-state.js';
import type { Envelope } from './framing/envelope.js';
import { Fifo } from './fifo.js';
import { Message, type MessageSettler } from './message.js';
import { consumeTrace, traced } from './tracing.js';

/** @internal What the iterator needs of its channel and connection. */
export interface IteratorHost {
  readonly settler: MessageSettler;
  /** Whether the delivery still needs settling (not settled by hand through the channel, channel still open). */
  outstanding(deliveryTag: number): boolean;
  /** Give a delivery back to the queue (reject with requeue), when the channel still can. */
  requeue(deliveryTag: number): void;
  pauseReading(who: object): void;
  resumeReading(who: object): void;
}

/** @internal */
export interface IteratorOptions {
  noAck: boolean;
  /** Ack the message the loop holds when it asks for the next one. */
  autoSettle: boolean;
  highWaterMark: number;
  /** The queue consumed (the `amqp091:consume` context's `queue`). */
  queue: string;
}

interface Waiter {
  resolve(r: IteratorResult<Message>): void;
  reject(err: Error): void;
}

const DONE: IteratorResult<Message> = { done: true, value: undefined };

export class Consumer implements AsyncIterable<Message>, ConsumerHandle, ConsumerSink {
  private readonly buffer = new Fifo<Message>();
  private waiters: Waiter[] = [];
  /** The message last handed to the loop (settle: 'auto' acks it when the loop asks for the next). */
  private current: Message | null = null;
  private iterated = false;
  /** The user cancelled: in ack mode nothing more is handed out. */
  private stopped = false;
  /** The loop was left (return()): nothing more is handed out. */
  private left = false;
  /** Why the consumer failed, until the loop has been told (once). */
  private pendingError: Error | null = null;
  private paused = false;

  /** @internal */
  constructor(
    private readonly life: ConsumerLifecycle,
    private readonly host: IteratorHost,
    private readonly o: IteratorOptions,
  ) {
    life.sink = this;
  }

  get consumerTag(): string {
    return this.life.consumerTag;
  }

  get state(): ConsumerState {
    return this.life.state;
  }

  get error(): Error | null {
    return this.life.error;
  }

  get closed(): Promise<Error | null> {
    return this.life.closed;
  }

  /** Cancel the consumer: the loop ends quietly; messages not yet handed out go back to the queue (ack mode). */
  cancel(): Promise<void> {
    return this.life.cancel();
  }

  /** The one iterator of this consumer; a second one throws TypeError. */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.iterated) throw new TypeError(`consumer ${this.consumerTag} is already being iterated: a Consumer can be iterated once`);
    this.iterated = true;
    return { next: () => this.next(), return: () => this.leave() };
  }

  /** @internal The callback of the underlying consumer: one delivery. */
  readonly push = (_channel: unknown, body: Buffer, envelope: Envelope, properties: BasicProperties): void => {
    const m = new Message(body, envelope, properties, this.host.settler);
    const w = this.waiters.shift();
    if (w !== undefined) {
      if (this.o.autoSettle) this.current = m;
      if (consumeTrace.hasSubscribers) traced.handOut(this.o.queue, envelope, properties);
      w.resolve({ done: false, value: m });
      return;
    }
    this.buffer.push(m);
    if (!this.paused && this.buffer.length >= this.o.highWaterMark) {
      this.paused = true;
      this.host.pauseReading(this);
    }
  };

  private next(): Promise<IteratorResult<Message>> {
    this.settleCurrent();
    const err = this.pendingError;
    if (err !== null) {
      this.pendingError = null;
      return Promise.reject(err);
    }
    if (this.left || (this.stopped && !this.o.noAck)) return Promise.resolve(DONE);
    const m = this.take();
    if (m !== undefined) {
      if (this.o.autoSettle) this.current = m;
      if (consumeTrace.hasSubscribers) traced.handOut(this.o.queue, m.envelope, m.properties);
      return Promise.resolve({ done: false, value: m });
    }
    if (this.stopped || this.life.ended) return Promise.resolve(DONE);
    return new Promise<IteratorResult<Message>>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The loop was left (break, return, throw): cancel; the message the loop body holds stays the user's. */
  private async leave(): Promise<IteratorResult<Message>> {
    this.current = null;
    this.left = true;
    this.pendingError = null;
    if (!this.life.ended) {
      try {
        await this.life.cancel();
      } catch {
        // Still cancelling (a timeout) or gone: either way the loop is over.
      }
    }
    this.clear(this.o.noAck ? 'drop' : 'requeue');
    return DONE;
  }

  /** settle: 'auto': the loop asked for the next message, so the last one was handled. */
  private settleCurrent(): void {
    const m = this.current;
    if (m === null) return;
    this.current = null;
    if (m.settled || !this.host.outstanding(m.envelope.deliveryTag)) return;
    try {
      m.ack();
    } catch {
      // The channel closed: the message is void, the broker requeues it.
    }
  }

  private take(): Message | undefined {
    const m = this.buffer.shift();
    if (this.paused && this.buffer.length <= this.o.highWaterMark >>> 1) this.unpause();
    return m;
  }

  /** Empty the buffer: give each message back (ack mode, channel open) or drop it. */
  private clear(how: 'requeue' | 'drop'): void {
    const list = this.buffer.drain();
    if (how === 'requeue' && !this.o.noAck) {
      for (const m of list) this.host.requeue(m.envelope.deliveryTag);
    }
    this.unpause();
  }

  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    this.host.resumeReading(this);
  }

  private finishWaiters(err: Error | null): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (err !== null) {
        w.reject(err);
        err = null;
      } else w.resolve(DONE);
    }
  }

  // ------------------------------------------------------------ ConsumerSink

  /** @internal */
  stopping(): void {
    this.stopped = true;
    this.finishWaiters(null);
  }

  /** @internal */
  cancelSent(): void {
    if (!this.o.noAck) this.clear('requeue');
  }

  /** @internal */
  linkDown(): void {
    this.current = null;
    this.clear('drop');
  }

  /** @internal */
  ended(error: Error | null): void {
    // noAck messages are the user's already: after a quiet end the loop still gets them.
    if (error !== null || !this.o.noAck) this.clear('requeue');
    else this.unpause();
    if (error !== null && !this.left) {
      if (this.waiters.length === 0) this.pendingError = error;
      this.finishWaiters(error);
    } else this.finishWaiters(null);
  }
}
