// A loopback TCP proxy for fault tests: sits between the client and the
// broker and can pass, pause (hold bytes, keep sockets open: a half-open
// link) and cut (RST) the traffic on command.
//
//   const proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: 5672 });
//   connect({ host: '127.0.0.1', port: proxy.port, ... });
//   proxy.pause();   // nothing moves any more, in either direction
//   proxy.resume();  // held bytes are delivered, in order, and traffic flows again
//   proxy.cut();     // every open connection is reset (both sides get ECONNRESET)
//   await proxy.close(); // stop listening, destroy everything, no handle left
import net from 'node:net';

export interface StartProxyOptions {
  /** Where to forward to. Default 127.0.0.1. */
  readonly targetHost?: string;
  readonly targetPort: number;
  /** Address to listen on. Default 127.0.0.1; the port is always chosen by the OS. */
  readonly listenHost?: string;
}

/** One proxied connection: the accepted client socket and the socket to the target. */
export interface ProxyConnection {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes forwarded client → target. */
  readonly bytesUp: number;
  /** Bytes forwarded target → client. */
  readonly bytesDown: number;
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Connections currently open (a live view; `.length` is the count). */
  readonly connections: readonly ProxyConnection[];
  /** Total connections accepted since start. */
  readonly accepted: number;
  readonly paused: boolean;
  /** Hold every byte in both directions (new connections too); sockets stay open. */
  pause(): void;
  /** Deliver held bytes in order and forward again. */
  resume(): void;
  /** Reset (RST) every open connection on both sides. The proxy keeps listening. */
  cut(): void;
  /** Stop listening and destroy every socket; resolves when all handles are closed. */
  close(): Promise<void>;
}

type Held = Buffer | 'end';

class Pipe {
  /** Chunks read while paused, or not yet writable. */
  private held: Held[] = [];
  bytes = 0;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly isPaused: () => boolean,
  ) {
    from.on('data', (chunk: Buffer) => this.onData(chunk));
    from.on('end', () => this.onEnd());
    to.on('drain', () => this.flush());
  }

  private canForward(): boolean {
    return !this.isPaused() && this.held.length === 0 && !this.to.connecting;
  }

  private onData(chunk: Buffer): void {
    if (!this.canForward()) {
      this.held.push(chunk);
      // Hold the rest in the kernel: the sender sees back-pressure, as on a stalled link.
      this.from.pause();
      return;
    }
    this.write(chunk);
  }

  private onEnd(): void {
    if (!this.canForward()) {
      this.held.push('end');
      return;
    }
    this.endTarget();
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    this.bytes += chunk.length;
    if (!this.to.write(chunk)) this.from.pause();
  }

  private endTarget(): void {
    if (!this.to.destroyed) this.to.end();
  }

  /** Flush what was held (when not paused and the target is connected) and read again. */
  flush(): void {
    if (this.isPaused() || this.to.connecting) return;
    const held = this.held;
    this.held = [];
    for (const item of held) {
      if (item === 'end') this.endTarget();
      else this.write(item);
    }
    if (!this.from.destroyed && !this.to.destroyed && this.to.writableNeedDrain === false) this.from.resume();
  }
}

interface Entry extends ProxyConnection {
  readonly up: Pipe;
  readonly down: Pipe;
  readonly closed: Promise<void>;
}

function whenClosed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export async function startProxy(options: StartProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const listenHost = options.listenHost ?? '127.0.0.1';
  const entries = new Set<Entry>();
  const closing = new Set<Promise<void>>();
  let paused = false;
  let accepted = 0;
  let closed = false;

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    if (closed) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect({ host: targetHost, port: options.targetPort, noDelay: true });
    // Errors (ECONNRESET, ECONNREFUSED...) just end the pair; they are expected here.
    const ignore = (): void => {};
    client.on('error', ignore);
    upstream.on('error', ignore);

    const isPaused = (): boolean => paused;
    const up = new Pipe(client, upstream, isPaused);
    const down = new Pipe(upstream, client, isPaused);
    const closedBoth = Promise.all([whenClosed(client), whenClosed(upstream)]).then(() => undefined);
    const entry: Entry = {
      client,
      upstream,
      up,
      down,
      closed: closedBoth,
      get bytesUp() {
        return up.bytes;
      },
      get bytesDown() {
        return down.bytes;
      },
    };
    entries.add(entry);
    closing.add(closedBoth);
    void closedBoth.then(() => {
      entries.delete(entry);
      closing.delete(closedBoth);
    });

    // When one side goes away abruptly, take the other with it.
    client.on('close', (hadError) => {
      if (hadError) reset(upstream);
      else if (!upstream.destroyed && upstream.connecting) upstream.destroy();
    });
    upstream.on('close', (hadError) => {
      if (hadError || !upstream.readableEnded) reset(client);
    });
    upstream.on('connect', () => {
      up.flush();
      down.flush();
    });
    client.resume();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp-proxy: unexpected server address');

  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));

  const proxy: TcpProxy = {
    host: listenHost,
    port: address.port,
    get connections() {
      return [...entries];
    },
    get accepted() {
      return accepted;
    },
    get paused() {
      return paused;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const e of entries) {
        e.up.flush();
        e.down.flush();
      }
    },
    cut() {
      for (const e of entries) {
        reset(e.client);
        reset(e.upstream);
      }
    },
    async close() {
      if (!closed) {
        closed = true;
        server.close();
        for (const e of entries) {
          e.client.destroy();
          e.upstream.destroy();
        }
      }
      await Promise.all([serverClosed, ...closing]);
      // A server's 'close' event comes before libuv has released its handle; let the loop go round.
      await nextLoopTurn();
      await nextLoopTurn();
    },
  };
  return proxy;
}

function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
