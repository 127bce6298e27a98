// SecretUpdate: connection.update-secret and its reply (update-secret-ok),
// the only request the client makes on channel 0 once the connection is
// open. One at a time: a second call waits for the first.

import { encodeConnectionUpdateSecret } from '../generated/connection.js';
import type { FrameWriter } from './framing/frame-writer.js';
import { TimeoutError } from './errors.js';

/** Options of `protocol.updateSecret()`. */
export interface SecretUpdateOptions {
  /** Milliseconds to wait for update-secret-ok; rejects `TimeoutError` on expiry. */
  timeout?: number;
  /** Abort the wait: rejects with `signal.reason` (the broker may still take the secret). */
  signal?: AbortSignal;
}

interface Waiting {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SecretUpdate {
  private waiting: Waiting | null = null;
  private queue: Promise<void> = Promise.resolve();

  /** Send the new secret once the previous update is answered; resolves on update-secret-ok. */
  send(fw: FrameWriter, gone: () => Error | null, newSecret: string, reason: string, o: SecretUpdateOptions): Promise<void> {
    const run = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (o.signal?.aborted) return reject(o.signal.reason);
        const err = gone();
        if (err !== null) return reject(err);
        let timer: NodeJS.Timeout | null = null;
        const onAbort = (): void => finish(() => reject(o.signal!.reason));
        const finish = (settle: () => void): void => {
          if (timer !== null) clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          if (this.waiting === w) this.waiting = null;
          settle();
        };
        const w: Waiting = { resolve: () => finish(resolve), reject: (e) => finish(() => reject(e)) };
        fw.writeMethod(0, encodeConnectionUpdateSecret, { newSecret, reason });
        this.waiting = w;
        if (o.timeout !== undefined) timer = setTimeout(() => w.reject(new TimeoutError(`connection.update-secret: no reply within ${o.timeout} ms`)), o.timeout);
        o.signal?.addEventListener('abort', onAbort, { once: true });
      });
    const p = this.queue.then(run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** update-secret-ok arrived: true when an update was waiting for it. */
  ok(): boolean {
    const w = this.waiting;
    if (w === null) return false;
    w.resolve();
    return true;
  }

  /** The link or the connection ended: the update waiting for its reply fails with `err`. */
  fail(err: Error): void {
    this.waiting?.reject(err);
  }
}
