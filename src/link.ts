// Link: the protocol object's only view of the socket. It forwards bytes
// and socket events to the protocol and writes frame chunks. Everything
// socket-specific (net vs tls, corking, drain) stays here.

import type { Socket } from 'node:net';

/** What a Link reports to its protocol. */
export interface LinkHandler {
  onData(chunk: Buffer): void;
  onDrain(): void;
  /** The socket is gone; `err` when it failed rather than closed. */
  onClosed(err: Error | undefined): void;
}

/** Buffered bytes above which publishes wait for 'drain'. */
export const HIGH_WATER_MARK = 1024 * 1024;

export class Link {
  private error: Error | undefined;
  private closed = false;
  private deadline: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: Socket,
    private readonly handler: LinkHandler,
  ) {
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  get writable(): boolean {
    return !this.closed && this.socket.writable;
  }

  /**
   * Write chunks in order with one syscall; true while below the
   * high-water mark. `written` runs once the socket no longer holds them.
   */
  readonly write = (chunks: Uint8Array[], written?: () => void): boolean => {
    const s = this.socket;
    if (!s.writable) return true;
    const done =
      written === undefined
        ? undefined
        : (err?: Error | null): void => {
            if (err == null) written();
          };
    const last = chunks.length - 1;
    if (last === 0) {
      s.write(chunks[0]!, done);
    } else {
      s.cork();
      for (let i = 0; i < last; i++) s.write(chunks[i]!);
      s.write(chunks[last]!, done);
      s.uncork();
    }
    return s.writableLength < HIGH_WATER_MARK;
  };

  /** Half-close after pending writes (used after sending close-ok). */
  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }

  /** Destroy the socket in `ms` unless it has closed by then (the peer's last word may still come). */
  destroyAfter(ms: number): void {
    if (this.closed || this.deadline !== null) return;
    this.deadline = setTimeout(() => this.destroy(), ms);
    this.deadline.unref();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.handler.onData(chunk);
  };

  private readonly onDrain = (): void => {
    this.handler.onDrain();
  };

  private readonly onError = (err: Error): void => {
    this.error ??= err;
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('drain', this.onDrain);
    s.off('close', this.onClose);
    // Keep the 'error' listener: a late error on a dead socket must not crash the process.
    this.handler.onClosed(this.error);
  };
}
