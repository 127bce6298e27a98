// ReadPause: a connection stops reading its socket while a consumer's
// buffer is full (an iterator over noAck deliveries, above its
// highWaterMark), so a slow loop holds the broker back through TCP instead
// of filling memory. Never while something on the connection awaits the
// broker's answer (a reply, a confirm, close-ok): a loop that awaits a call
// on the same connection must not wait for itself. While paused, the
// broker's heartbeats wait in the socket too: the connection does not count
// that silence against it.

import type { Socket } from 'node:net';

/** What a consumer may ask of its connection (ChannelHost.reads). */
export interface ReadPauser {
  /** `who` holds too much: stop reading until it calls resume. */
  pause(who: object): void;
  resume(who: object): void;
}

export class ReadPause implements ReadPauser {
  /** Whether the socket is paused by us now. */
  paused = false;
  private readonly pausers = new Set<object>();

  constructor(
    /** The connection: its current socket, if any. */
    private readonly conn: { readonly socket: Socket | null },
    /** Whether reading may stop now: the connection is open and nothing awaits the broker. */
    private readonly mayPause: () => boolean,
  ) {}

  pause(who: object): void {
    this.pausers.add(who);
    this.apply();
  }

  resume(who: object): void {
    if (this.pausers.delete(who)) this.apply();
  }

  /** Pause or resume the socket as the pausers and the host say; run again whenever that may have changed. */
  apply(): void {
    const socket = this.conn.socket;
    if (socket === null) return;
    const pause = this.pausers.size > 0 && this.mayPause();
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) socket.pause();
    else socket.resume();
  }

  /** The link is gone: its consumers' buffers too. */
  reset(): void {
    this.pausers.clear();
    this.paused = false;
  }
}
