// What a channel tells its listeners (API.md "Channel lifecycle and flow"):
// 'close' once, with the error that ended it or null when the user asked;
// 'flow' for each channel.flow the broker sends. Listeners are called one
// by one, so that one that throws (or rejects) goes to onError and the
// others still run; a channel never emits 'error'.

import type { EventEmitter } from 'node:events';

/** The events a `Channel` emits, with their arguments (it never emits 'error'). */
export interface ChannelEvents {
  /** The channel ended: the error that ended it, or null when the user closed it (channel, protocol or transport). */
  close: [err: Error | null];
  /** The broker paused (false) or resumed (true) this channel's publishes (channel.flow). */
  flow: [active: boolean];
}

/** Call each listener of `event`; what one throws or rejects goes to `report`. */
export function emitEach<K extends keyof ChannelEvents>(
  emitter: EventEmitter<ChannelEvents>,
  report: (err: unknown) => void,
  event: K,
  ...args: ChannelEvents[K]
): void {
  // rawListeners: a once() listener comes wrapped, and its wrapper removes it.
  for (const listener of emitter.rawListeners(event) as ((...a: ChannelEvents[K]) => unknown)[]) {
    try {
      const r = listener.apply(emitter, args);
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, report);
    } catch (err) {
      report(err);
    }
  }
}
