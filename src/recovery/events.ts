// The payloads of the recovery events (API.md "Recovery and clusters").

/** Emitted once per recovery attempt, before its wait. */
export interface RecoveringInfo {
  /** 1-based, counted per outage. */
  attempt: number;
  /** Milliseconds this attempt waits before connecting (full jitter). */
  delay: number;
  /** The host this attempt connects to. */
  host: string;
  /** The port this attempt connects to. */
  port: number;
}

/** Emitted when the link is back and the topology replayed. */
export interface RecoveredInfo {
  /** The host the connection is now on. */
  host: string;
  /** The port the connection is now on. */
  port: number;
  /** Attempts this outage took (the number of 'recovering' events). */
  attempts: number;
  /** From the moment the loss was detected to this event. */
  downtimeMs: number;
}
