// ConsumerLifecycle: what the user can ask of a consumer, either form
// (basicConsume's callback or consume()'s iterator): its state, why it
// ended, a `closed` promise, and cancel(). The channel drives it: the
// user's cancel, the broker's cancel, the channel or connection ending.
// An iterator consumer hooks in as its `sink` to hear those turns.

/** 'active' until cancelled by the user ('cancelled') or ended by anything else ('failed', with `error`). */
export type ConsumerState = 'active' | 'cancelled' | 'failed';

/** What `basicConsume` resolves with as `consumer`, and what a `Consumer` iterator has too. */
export interface ConsumerHandle {
  /** The consumer's tag. */
  readonly consumerTag: string;
  /** 'active', 'cancelled' (by the user) or 'failed' (see `error`). */
  readonly state: ConsumerState;
  /** Why the consumer ended abnormally (broker cancel, channel or connection closed), else null. */
  readonly error: Error | null;
  /** Resolves once the consumer has ended: null after the user's cancel or close, else the error. Never rejects. */
  readonly closed: Promise<Error | null>;
  /** Cancel the consumer (basic.cancel); resolves once the broker confirmed it. Again, or once ended: no-op. */
  cancel(): Promise<void>;
}

/** @internal What an iterator consumer is told at each turn of its consumer's life. */
export interface ConsumerSink {
  /** The user cancelled: stop handing out (what is buffered is given back once the cancel is sent). */
  stopping(): void;
  /** basic.cancel is on the wire: give back what was not handed out. */
  cancelSent(): void;
  /** The link dropped and recovery will register the consumer again: what is buffered is void. */
  linkDown(): void;
  /** The consumer ended (`error` null: quietly). */
  ended(error: Error | null): void;
}

const IGNORE = (): void => undefined;

export class ConsumerLifecycle implements ConsumerHandle {
  state: ConsumerState = 'active';
  error: Error | null = null;
  readonly closed: Promise<Error | null>;
  /** @internal The iterator that reads this consumer, if any. */
  sink: ConsumerSink | null = null;
  private resolveClosed!: (err: Error | null) => void;
  private done = false;
  private cancelling: Promise<void> | null = null;

  /** @internal */
  constructor(
    readonly consumerTag: string,
    private readonly sendCancel: (tag: string) => Promise<void>,
  ) {
    this.closed = new Promise<Error | null>((resolve) => (this.resolveClosed = resolve));
  }

  /** @internal Whether the consumer has ended. */
  get ended(): boolean {
    return this.done;
  }

  cancel(): Promise<void> {
    if (this.cancelling !== null) return this.cancelling;
    if (this.done) return Promise.resolve();
    this.cancelling = this.sendCancel(this.consumerTag).then(IGNORE, (err: unknown) => {
      // The channel ended meanwhile: the consumer is gone all the same.
      if (!this.done) throw err;
    });
    return this.cancelling;
  }

  /** @internal The user cancelled (cancel(), basicCancel or leaving the loop). */
  userCancelled(): void {
    if (this.done || this.state !== 'active') return;
    this.state = 'cancelled';
    this.sink?.stopping();
  }

  /** @internal The user's cancel was given up before it was sent (abort, timeout): the consumer goes on. */
  cancelWithdrawn(): void {
    if (!this.done && this.state === 'cancelled') this.state = 'active';
  }

  /** @internal The consumer is gone: `err` null for a quiet end, else why (ignored after the user's cancel). */
  end(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    if (this.state === 'active' && err !== null) {
      this.state = 'failed';
      this.error = err;
    } else {
      this.state = 'cancelled';
    }
    this.sink?.ended(this.error);
    this.resolveClosed(this.error);
  }
}
