// RpcQueue: the synchronous requests of one channel, sent through one
// data-driven `request(method, args, options)`: the generated tables say
// how to encode each method and which replies it waits for.
//
// Only one request is on the wire at a time: RabbitMQ sends some replies
// (consume-ok, cancel-ok) from the queue process, so they can overtake
// replies to later requests on the same channel; sending the next request
// only after the previous reply keeps every reply matched to its own
// request. A call that timed out before it was sent is dropped; one that
// timed out on the wire stays at the head, marked abandoned, so its late
// reply is consumed rather than taken for the next call's. No-wait requests
// queue behind the others too, so requests reach the broker in the order
// they were made. While the link is down the queue is paused: calls wait,
// and recovery's own requests (urgent) go ahead of them.

import { TimeoutError } from './errors.js';
import type { BasicProperties } from '../generated/basic.js';
import { METHOD_INFO, type IncomingMethod, type MethodArgs, type MethodId } from '../generated/dispatch.js';
import { REQUEST_ENCODERS, type MethodReplies, type RequestId } from '../generated/requests.js';
import type { MethodEncoder } from './framing/frame-writer.js';

/** The content of a reply that carries a message (basic.get-ok). */
export interface Content {
  properties: BasicProperties;
  body: Buffer;
}

/** A reply, with its content when it carries a message. */
export type Reply<K extends RequestId> = MethodReplies[K] & { content?: Content };

export interface RequestOptions {
  /** Milliseconds to wait for the reply; rejects `TimeoutError` on expiry. */
  timeout?: number | undefined;
  /** Send with no-wait: resolve once written (the args must say no-wait too). */
  noWait?: boolean | undefined;
  /** Runs right after the request is written, before any other frame (e.g. to start counting confirms). */
  onSent?: (() => void) | undefined;
  /** Rejects the call with `signal.reason`; one not yet written is never written. */
  signal?: AbortSignal | undefined;
  /** A reply that arrives after the call gave up (timeout, abort): undo what it did at the broker. */
  onLate?: ((m: IncomingMethod, content: Content | null) => void) | undefined;
}

/** What the queue needs of its channel. */
export interface RpcHost {
  /** Whether the channel takes request `id` now (channel.open only while opening, the rest while open). */
  accepts(id: RequestId): boolean;
  /** The error for a request the channel cannot take. */
  closedError(): Error;
  write<T>(encode: MethodEncoder<T>, args: T): void;
  /** Resolves once what was written is handed to the socket. */
  whenWritten(): Promise<void>;
}

interface PendingCall {
  readonly id: RequestId;
  /** Reply method ids; empty for a no-wait request (done once written). */
  readonly expects: readonly MethodId[];
  readonly args: unknown;
  readonly onSent: (() => void) | undefined;
  readonly onLate: ((m: IncomingMethod, content: Content | null) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  settle(m: IncomingMethod | null, content: Content | null): void;
  fail(err: Error): void;
  /** Timed out or failed: a reply that still comes is dropped. */
  abandoned: boolean;
  sent: boolean;
  /** Recovery's own request: sent while the queue is paused, ahead of the user's. */
  readonly urgent: boolean;
  timer: NodeJS.Timeout | null;
}

const NO_REPLY: readonly MethodId[] = [];

export class RpcQueue {
  private calls: PendingCall[] = [];
  /** The link is down or recovery is replaying: only urgent calls go out. */
  private paused = false;

  constructor(private readonly host: RpcHost) {}

  /**
   * Send `id` with `args` once the requests before it are answered, and
   * resolve with its reply; with `noWait`, resolve with null once written.
   * Every failure rejects, none throws.
   */
  request<K extends RequestId>(id: K, args: MethodArgs[K], o: RequestOptions = {}): Promise<Reply<K> | null> {
    return this.enqueue(id, args, o, false);
  }

  /** Recovery's request: sent ahead of every call still waiting, even while paused. */
  urgent<K extends RequestId>(id: K, args: MethodArgs[K]): Promise<Reply<K> | null> {
    return this.enqueue(id, args, {}, true);
  }

  /** Hold back the user's calls (the link is down). */
  pause(): void {
    this.paused = true;
  }

  /** Let the user's calls go out again. */
  resume(): void {
    this.paused = false;
    this.sendHead();
  }

  private enqueue<K extends RequestId>(id: K, args: MethodArgs[K], o: RequestOptions, urgent: boolean): Promise<Reply<K> | null> {
    return new Promise<Reply<K> | null>((resolve, reject) => {
      if (o.signal?.aborted) {
        reject(o.signal.reason);
        return;
      }
      if (!urgent && !this.host.accepts(id)) {
        reject(this.host.closedError());
        return;
      }
      const noWait = o.noWait === true;
      const call: PendingCall = {
        id,
        expects: noWait ? NO_REPLY : METHOD_INFO[id].responses,
        args,
        onSent: o.onSent,
        onLate: o.onLate,
        signal: o.signal,
        onAbort: () => this.giveUp(call, o.signal!.reason),
        settle: noWait
          ? () => resolve(this.host.whenWritten().then(() => null))
          : (m, content) => resolve((content === null ? m : { ...m, content }) as Reply<K>),
        fail: reject,
        abandoned: false,
        sent: false,
        urgent,
        timer: null,
      };
      if (urgent) {
        // After the urgent calls already waiting, before the user's.
        const at = this.calls.findIndex((c) => !c.urgent && !c.sent);
        this.calls.splice(at < 0 ? this.calls.length : at, 0, call);
      } else this.calls.push(call);
      const timeout = noWait ? undefined : o.timeout;
      if (timeout !== undefined) call.timer = setTimeout(() => this.expire(call, timeout), timeout);
      o.signal?.addEventListener('abort', call.onAbort, { once: true });
      if (this.calls[0] === call) this.sendHead();
    });
  }

  /**
   * A reply arrived: settle the call at the head (and write the next
   * request). Returns false when it answers nothing that is waiting (a
   * desync); a reply to an abandoned call is consumed quietly.
   */
  reply(m: IncomingMethod, content: Content | null): boolean {
    const call = this.calls[0];
    if (call === undefined || !call.sent || !call.expects.includes(m.id)) return false;
    this.calls.shift();
    this.clear(call);
    this.sendHead();
    if (!call.abandoned) call.settle(m, content);
    else call.onLate?.(m, content);
    return true;
  }

  /** Fail every call that is still waiting; the queue is left empty. */
  failAll(err: Error): void {
    const calls = this.calls;
    this.calls = [];
    for (const c of calls) this.abandon(c, err);
  }

  /** The link dropped: calls on the wire will get no reply; fail them. The others wait. */
  failSent(err: Error): void {
    const sent = this.calls.filter((c) => c.sent);
    this.calls = this.calls.filter((c) => !c.sent);
    for (const c of sent) this.abandon(c, err);
  }

  /** Fail the calls not yet written (the channel is closing: they never will be). */
  failUnsent(err: Error): void {
    const unsent = this.calls.filter((c) => !c.sent);
    this.calls = this.calls.filter((c) => c.sent);
    for (const c of unsent) this.abandon(c, err);
  }

  /** Name of the call at the head, for desync messages. */
  headName(): string | undefined {
    const head = this.calls[0];
    return head === undefined ? undefined : METHOD_INFO[head.id].name;
  }

  /** Write requests from the head until one that waits for a reply is on the wire. */
  private sendHead(): void {
    while (this.calls.length > 0) {
      const call = this.calls[0]!;
      if (call.sent || (this.paused && !call.urgent)) return;
      try {
        this.host.write(REQUEST_ENCODERS[call.id] as MethodEncoder<unknown>, call.args);
      } catch (err) {
        this.calls.shift();
        this.abandon(call, err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      call.sent = true;
      call.onSent?.();
      if (call.expects.length > 0) return;
      // No reply expected: done as soon as written.
      this.calls.shift();
      this.clear(call);
      if (!call.abandoned) call.settle(null, null);
    }
  }

  private expire(call: PendingCall, timeout: number): void {
    call.timer = null;
    this.giveUp(call, new TimeoutError(`${METHOD_INFO[call.id].name}: no reply within ${timeout} ms`));
  }

  /** Timeout or abort: an unsent call is dropped (never sent); a sent one stays at the head for its late reply. */
  private giveUp(call: PendingCall, err: unknown): void {
    if (call.abandoned) return;
    call.abandoned = true;
    if (!call.sent) {
      const i = this.calls.indexOf(call);
      if (i >= 0) this.calls.splice(i, 1);
    }
    this.clear(call);
    call.fail(err instanceof Error ? err : (err as Error));
  }

  private abandon(call: PendingCall, err: Error): void {
    this.clear(call);
    if (call.abandoned) return;
    call.abandoned = true;
    call.fail(err);
  }

  private clear(call: PendingCall): void {
    if (call.timer !== null) clearTimeout(call.timer);
    call.timer = null;
    call.signal?.removeEventListener('abort', call.onAbort);
  }
}
