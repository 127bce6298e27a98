// Recoverer: the attempts of one outage. Attempt n waits its backoff
// (full jitter), connects to the next host (the lost one comes last in each
// pass) and replays the topology; a failure anywhere is a failed attempt and
// the next one starts over. After maxAttempts it gives up with one error.

import { AmqpClosedConnection } from '../errors.js';
import type { Endpoint } from '../endpoints.js';
import type { RecoveredInfo, RecoveringInfo } from './events.js';
import { backoffDelay, type RecoveryPolicy } from './policy.js';

export interface RecovererHost {
  /** Still recovering (the user has not closed the connection meanwhile). */
  isRecovering(): boolean;
  /** Connect to `endpoint` and run the handshake; then replay the topology. */
  attempt(endpoint: Endpoint): Promise<void>;
  /** An attempt failed with the link still up (replay broke): let go of it. */
  abandonLink(err: AmqpClosedConnection): void;
  announce(info: RecoveringInfo): void;
  recovered(info: RecoveredInfo): void;
  gaveUp(err: AmqpClosedConnection): void;
}

export class Recoverer {
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly policy: RecoveryPolicy,
    private readonly endpoints: readonly Endpoint[],
    private readonly host: RecovererHost,
  ) {}

  /** Recover from the loss of `endpoints[lostIndex]`, detected at `since` (ms). Resolves with the endpoint now in use. */
  async run(lostIndex: number, since: number): Promise<number> {
    const n = this.endpoints.length;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      const index = (lostIndex + attempt) % n;
      const endpoint = this.endpoints[index]!;
      const delay = backoffDelay(this.policy, attempt);
      this.host.announce({ attempt, delay, host: endpoint.host, port: endpoint.port });
      await this.sleep(delay);
      if (!this.host.isRecovering()) return -1;
      try {
        await this.host.attempt(endpoint);
      } catch (err) {
        lastError = err;
        if (!this.host.isRecovering()) return -1;
        this.host.abandonLink(err instanceof AmqpClosedConnection ? err : new AmqpClosedConnection({ replyText: 'recovery attempt failed', cause: err }));
        continue;
      }
      if (!this.host.isRecovering()) return -1;
      this.host.recovered({ host: endpoint.host, port: endpoint.port, attempts: attempt, downtimeMs: Date.now() - since });
      return index;
    }
    const attempts = this.policy.maxAttempts;
    const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
    this.host.gaveUp(new AmqpClosedConnection({ replyText: `recovery failed after ${attempts} attempts${reason}`, cause: lastError }, 'connection closed', false));
    return -1;
  }

  /** The user closed the connection: stop waiting at once. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve();
      }, ms);
    });
  }
}
