// RpcQueue: the synchronous requests of one channel waiting for their
// replies, in the order they were sent (the broker answers in order). A
// call that timed out stays queued, marked abandoned, so that its late
// reply is consumed instead of being taken for the next call's.

import { TimeoutError } from './errors.js';
import type { BasicProperties, IncomingMethod, MethodId } from '../generated/index.js';

export interface Content {
  properties: BasicProperties;
  body: Buffer;
}

export interface PendingCall {
  /** e.g. 'queue.declare', for messages. */
  readonly name: string;
  readonly expects: readonly MethodId[];
  settle(m: IncomingMethod, content: Content | null): void;
  fail(err: Error): void;
  /** Timed out or failed: a reply that still comes is dropped. */
  abandoned: boolean;
  timer: NodeJS.Timeout | null;
}

export class RpcQueue {
  private calls: PendingCall[] = [];

  get size(): number {
    return this.calls.length;
  }

  /** Queue a call whose request was just written; `timeout` in ms. */
  push(call: PendingCall, timeout: number | undefined): void {
    this.calls.push(call);
    if (timeout !== undefined) {
      call.timer = setTimeout(() => {
        call.timer = null;
        if (call.abandoned) return;
        call.abandoned = true;
        call.fail(new TimeoutError(`${call.name}: no reply within ${timeout} ms`));
      }, timeout);
    }
  }

  /**
   * The call that `id` answers, removed from the queue; null when it
   * answers a call that was abandoned. Throws `Error` (mapped to a
   * SynchronizationError by the caller) when it answers nothing pending.
   */
  take(id: MethodId): PendingCall | null | undefined {
    const call = this.calls[0];
    if (call === undefined || !call.expects.includes(id)) return undefined;
    this.calls.shift();
    if (call.timer !== null) clearTimeout(call.timer);
    call.timer = null;
    return call.abandoned ? null : call;
  }

  /** Fail every call that is still waiting; the queue is left empty. */
  failAll(err: Error): void {
    const calls = this.calls;
    this.calls = [];
    for (const c of calls) {
      if (c.timer !== null) clearTimeout(c.timer);
      c.timer = null;
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
}
