// RpcQueue: the synchronous requests of one channel. Only one is on the
// wire at a time: RabbitMQ sends some replies (consume-ok, cancel-ok) from
// the queue process, so they can overtake replies to later requests on the
// same channel; sending the next request only after the previous reply
// keeps every reply matched to its own request. A call that timed out
// before it was sent is dropped; one that timed out on the wire stays at
// the head, marked abandoned, so its late reply is consumed rather than
// taken for the next call's. No-wait requests queue behind the others too,
// so requests reach the broker in the order they were made.

import { TimeoutError } from './errors.js';
import type { BasicProperties, IncomingMethod, MethodId } from '../generated/index.js';

export interface Content {
  properties: BasicProperties;
  body: Buffer;
}

export interface PendingCall {
  /** e.g. 'queue.declare', for messages. */
  readonly name: string;
  /** Reply method ids; empty for a no-wait request (done once written). */
  readonly expects: readonly MethodId[];
  /** Write the request. May throw (an argument that cannot be encoded): the call then fails. */
  send(): void;
  settle(m: IncomingMethod | null, content: Content | null): void;
  fail(err: Error): void;
  /** Timed out or failed: a reply that still comes is dropped. */
  abandoned: boolean;
  sent: boolean;
  timer: NodeJS.Timeout | null;
}

export function pendingCall(
  name: string,
  expects: readonly MethodId[],
  send: () => void,
  settle: (m: IncomingMethod | null, content: Content | null) => void,
  fail: (err: Error) => void,
): PendingCall {
  return { name, expects, send, settle, fail, abandoned: false, sent: false, timer: null };
}

export class RpcQueue {
  private calls: PendingCall[] = [];

  get size(): number {
    return this.calls.length;
  }

  /** Queue a call; it is written at once when nothing else is waiting. `timeout` in ms. */
  enqueue(call: PendingCall, timeout: number | undefined): void {
    this.calls.push(call);
    if (timeout !== undefined) {
      call.timer = setTimeout(() => this.expire(call, timeout), timeout);
    }
    if (this.calls.length === 1) this.sendHead();
  }

  /**
   * The call that reply `id` answers, removed from the queue (and the next
   * request written); null when it answers a call that was abandoned;
   * undefined when it answers nothing that is waiting (a desync).
   */
  take(id: MethodId): PendingCall | null | undefined {
    const call = this.calls[0];
    if (call === undefined || !call.sent || !call.expects.includes(id)) return undefined;
    this.calls.shift();
    this.clear(call);
    this.sendHead();
    return call.abandoned ? null : call;
  }

  /** Fail every call that is still waiting; the queue is left empty. */
  failAll(err: Error): void {
    const calls = this.calls;
    this.calls = [];
    for (const c of calls) {
      this.clear(c);
      if (!c.abandoned) {
        c.abandoned = true;
        c.fail(err);
      }
    }
  }

  /** Fail the calls not yet written (the channel is closing: they never will be). */
  failUnsent(err: Error): void {
    const keep: PendingCall[] = [];
    const drop: PendingCall[] = [];
    for (const c of this.calls) (c.sent ? keep : drop).push(c);
    this.calls = keep;
    for (const c of drop) {
      this.clear(c);
      if (!c.abandoned) {
        c.abandoned = true;
        c.fail(err);
      }
    }
  }

  /** Name of the call at the head, for desync messages. */
  headName(): string | undefined {
    return this.calls[0]?.name;
  }

  /** Write requests from the head until one that waits for a reply is on the wire. */
  private sendHead(): void {
    while (this.calls.length > 0) {
      const call = this.calls[0]!;
      try {
        call.send();
      } catch (err) {
        this.calls.shift();
        this.clear(call);
        if (!call.abandoned) {
          call.abandoned = true;
          call.fail(err instanceof Error ? err : new Error(String(err)));
        }
        continue;
      }
      call.sent = true;
      if (call.expects.length > 0) return;
      // No reply expected: done as soon as written.
      this.calls.shift();
      this.clear(call);
      if (!call.abandoned) call.settle(null, null);
    }
  }

  private expire(call: PendingCall, timeout: number): void {
    call.timer = null;
    if (call.abandoned) return;
    call.abandoned = true;
    if (!call.sent) {
      const i = this.calls.indexOf(call);
      if (i >= 0) this.calls.splice(i, 1);
    }
    call.fail(new TimeoutError(`${call.name}: no reply within ${timeout} ms`));
  }

  private clear(call: PendingCall): void {
    if (call.timer !== null) clearTimeout(call.timer);
    call.timer = null;
  }
}
