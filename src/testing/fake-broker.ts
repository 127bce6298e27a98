// FakeBroker: a scripted AMQP 0-9-1 server on a free loopback port, for
// tests of code that uses this library (API.md "FakeBroker"). It completes
// the handshake with any credentials and vhost, answers declares, binds,
// qos, consume, cancel, confirm.select (acking every publish) and close,
// records what clients publish, delivers what the test tells it to, and
// injects faults on cue into every connected client. With a `script`
// (scripted mode) each connection runs the test's script instead, for
// faults no automatic answer can stage (scripted.ts).

import net from 'node:net';
import type { BasicPropertiesInit } from '../../generated/basic.js';
import { CONNECTION_FORCED } from '../../generated/constants.js';
import { BrokerState, type PublishedMessage } from './broker-state.js';
import { ScriptRuns, type Script, type ScriptedConnection } from './scripted.js';
import { Session } from './session.js';

const HOST = '127.0.0.1';

/** Options of `FakeBroker.start()`. */
export interface FakeBrokerOptions {
  /**
   * Scripted mode: each accepted connection reads the client's protocol
   * header, then runs `script` instead of the automatic broker. The script
   * speaks the protocol itself (`conn.handshake()`, `conn.expectMethod()`,
   * `conn.send()` with the `wire` builders), so it can send anything at all.
   * The automatic broker's record and faults (`published`, `deliver`,
   * `closeConnection`, `closeChannel`, `dropSocket`, `stall`, `sendRaw`)
   * then have no client to act on: the script does that itself.
   */
  readonly script?: Script;
}

/**
 * A scripted AMQP 0-9-1 server on a free port of 127.0.0.1 (see the README,
 * "Testing your code"). `FakeBroker.start()` answers like a broker on its
 * own; `FakeBroker.start({ script })` lets a script play the broker.
 */
export class FakeBroker {
  /** The address it listens on: always `'127.0.0.1'`. */
  readonly host: string = HOST;
  /** `amqp://guest:guest@127.0.0.1:PORT/`: pass it to `fromUrl`. */
  readonly url: string;
  /** Every message a client published, in the order they arrived (a live array). */
  readonly published: PublishedMessage[];

  private readonly sessions = new Set<Session>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: net.Server,
    /** The loopback port it listens on. */
    readonly port: number,
    private readonly state: BrokerState,
    private readonly scripts: ScriptRuns | null,
  ) {
    this.url = `amqp://guest:guest@${HOST}:${port}/`;
    this.published = state.published;
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listen on a free port of 127.0.0.1: automatic mode, or scripted mode with `options.script`. */
  static async start(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('FakeBroker: no TCP address to listen on');
    return new FakeBroker(server, addr.port, new BrokerState(), options.script === undefined ? null : new ScriptRuns(options.script));
  }

  /** Scripted mode: every connection whose protocol header was read, in accept order (a copy); automatic mode: empty. */
  get connections(): ScriptedConnection[] {
    return [...(this.scripts?.connections ?? [])];
  }

  /** Scripted mode: what scripts threw so far (a copy); `settled()` rethrows the first. */
  get errors(): unknown[] {
    return [...(this.scripts?.errors ?? [])];
  }

  /**
   * Scripted mode: resolves once every script started so far (and any
   * started meanwhile) has ended; rejects with the first script's failure.
   * Automatic mode: resolves at once.
   */
  async settled(): Promise<void> {
    await this.scripts?.settled();
  }

  /**
   * Deliver a message to the consumer with this tag, or else to one consumer
   * of the queue with this name (round-robin, as a broker does). Resolves
   * once written to its socket; rejects when there is no such consumer.
   */
  deliver(consumerTagOrQueue: string, body: string | Uint8Array, properties?: BasicPropertiesInit): Promise<void> {
    const consumer = this.state.pick(consumerTagOrQueue);
    if (consumer === undefined) {
      return Promise.reject(new Error(`FakeBroker.deliver: no consumer with tag '${consumerTagOrQueue}' and no consumer of a queue of that name`));
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    return consumer.host.deliver(consumer, bytes, properties);
  }

  /** connection.close(code, text) to every client; resolves once their sockets closed (after close-ok, or 1 s). */
  async closeConnection(code: number, text: string): Promise<void> {
    await Promise.all(this.each((s) => s.closeConnection(code, text)));
  }

  /** channel.close(code, text, class 0, method 0) on channel `channelId` of every client that has it open; resolves on their close-oks. */
  async closeChannel(channelId: number, code: number, text: string): Promise<void> {
    await Promise.all(this.each((s) => s.closeChannel(channelId, code, text)));
  }

  /** Destroy every client socket, without a close method; resolves once they closed. */
  async dropSocket(): Promise<void> {
    await Promise.all(this.each((s) => s.drop()));
  }

  /** Stop answering the connected clients: their frames are read and ignored, no heartbeats. New clients are served. */
  async stall(): Promise<void> {
    this.each((s) => s.stall());
  }

  /** Write these bytes as they are to every client; resolves once the sockets took them. */
  async sendRaw(bytes: Uint8Array | string): Promise<void> {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    await Promise.all(this.each((s) => s.sendRaw(b)));
  }

  /**
   * Stop listening and end every client: in automatic mode with
   * connection.close 320, as a broker shutting down (the socket is
   * destroyed after close-ok or 1 s); in scripted mode by destroying the
   * sockets, then waiting for the scripts to end (their failures are not
   * rethrown: that is `settled()`'s job). Resolves when no socket or server
   * handle is left; never rejects. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([
        ...this.each((s) => s.closeConnection(CONNECTION_FORCED, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")),
        this.scripts?.end(),
      ]);
      await stopped;
      // The 'close' events come before libuv has released the handles.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    })();
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    if (this.scripts !== null) return this.scripts.accept(socket);
    const session = new Session(socket, this.state);
    this.sessions.add(session);
    void session.closed.then(() => this.sessions.delete(session));
  }

  private each<T>(f: (s: Session) => T): T[] {
    return [...this.sessions].map(f);
  }
}
