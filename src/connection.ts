// AmqpProtocol: one AMQP connection, as the user holds it. The link
// machinery is in ConnectionCore (connection-core.ts); here are the public
// calls and what happens when the link is lost: the end of the connection,
// or, with recovery on, a new link to the next host with everything the
// user had replayed on it (recovery/). The user's objects survive.

import { AmqpClosedConnection, NoChannelAvailable, TimeoutError } from './errors.js';
import { Channel, type ChannelOptions } from './channel.js';
import type { ChannelHost } from './channel-host.js';
import type { Socket } from 'node:net';
import { ConnectionCore, type SocketEnd } from './connection-core.js';
import type { AmqpProtocolEvents } from './connection-events.js';
import type { Endpoint } from './endpoints.js';
import type { HoldOwner } from './held-publishes.js';
import type { CloseOptions, ProtocolOptions } from './options.js';
import type { RecoveredInfo } from './recovery/events.js';
import type { RecoveryPolicy } from './recovery/policy.js';
import { Recoverer } from './recovery/recoverer.js';
import { replay } from './recovery/replay.js';
import { TopologyRecorder } from './recovery/topology.js';
import { SecretUpdate, type SecretUpdateOptions } from './secret-update.js';
import { CONNECTION_UPDATE_SECRET_OK } from '../generated/connection.js';
import type { IncomingMethod } from '../generated/dispatch.js';
import { openRpcClient, type RpcClient, type RpcClientOptions } from './rpc-client.js';
import { openRpcServer, type RpcHandler, type RpcServer, type RpcServerOptions } from './rpc-server.js';
import { connectionTrace, traced, type RemoteAddress } from './tracing.js';

export type { ConnectionState, AmqpProtocolEvents } from './connection-events.js';

const DEFAULT_CLOSE_TIMEOUT = 2000;

/** @internal How connect() lets a protocol reconnect: where, and how to open a link there. */
export interface RecoverySetup {
  policy: RecoveryPolicy;
  endpoints: readonly Endpoint[];
  /** Index of the endpoint connected now. */
  current: number;
  /** Open a socket to `endpoint` and attach it (handshake included). */
  dial(endpoint: Endpoint): Promise<void>;
}

/**
 * One AMQP connection (aioamqp's protocol object), made by `connect()` or
 * `fromUrl()`: opens channels, emits 'blocked', 'unblocked' and the
 * recovery events, ends once (`close()`, `waitClosed()`).
 *
 * @example
 * const [transport, protocol] = await connect({ host: '127.0.0.1' });
 * const channel = await protocol.channel();
 * await protocol.close();
 * transport.close();
 */
export class AmqpProtocol extends ConnectionCore implements ChannelHost {
  /** @internal What the user declared, when recovery replays topology; else null. */
  topology: TopologyRecorder | null = null;
  private recovery: RecoverySetup | null = null;
  private readonly secretUpdate = new SecretUpdate();
  private recoverer: Recoverer | null = null;
  /** Channels recovery opened for itself (to replay exchanges, queues and bindings). */
  private readonly recoveryChannels = new WeakSet<Channel>();
  /** Settles once the current outage ends (recovered or given up). */
  private outage: { promise: Promise<void>; resolve: () => void } | null = null;
  /** @internal The remote address of the current link's socket (of the last one while none is up): tracing contexts. */
  remote: RemoteAddress = { host: '', port: 0 };
  /** The connection opened (its first link): its end is an `amqp091:connection` 'close'. */
  private opened = false;

  constructor(options: ProtocolOptions = {}) {
    super(options);
  }

  // ------------------------------------------------------------ public API

  /**
   * Open a channel on the next free id; `NoChannelAvailable` when none is
   * left. While the connection is recovering, waits for it.
   */
  channel(o: ChannelOptions = {}): Promise<Channel> {
    if (o.signal?.aborted) return Promise.reject(o.signal.reason);
    if (this.state === 'recovering' && this.outage !== null) return this.outage.promise.then(() => this.channel(o));
    if (this.state !== 'open') return Promise.reject(this.goneError());
    const id = this.channels.allocate();
    if (id === 0) return Promise.reject(new NoChannelAvailable(`all ${this.channels.limit} channel ids are in use`));
    const ch = Channel.create(this, id, o);
    this.channels.add(ch);
    return ch.open(o.timeout, o.signal).then(() => ch);
  }

  /**
   * connection.close / close-ok; closes every channel. Waits for close-ok
   * up to `timeout` (default 2000 ms), then destroys the socket, and
   * resolves: a close in progress always succeeds locally. On a blocked
   * connection, does not wait for close-ok. While recovering, stops recovery
   * and ends at once. A call while a close is in progress waits for that
   * close; a call after the connection has ended rejects with its
   * `AmqpClosedConnection` (the close error), like any call on a closed
   * connection.
   */
  close(o: CloseOptions = {}): Promise<void> {
    // A second close after the end rejects; one during a close waits for it.
    if (this.state === 'closed') return Promise.reject(this.goneError());
    if (this.closing !== null) return this.closing.promise;
    this.userClosed = true;
    const err = new AmqpClosedConnection({ code: 200, replyText: 'connection closed by the client' });
    if (this.state === 'connecting' || this.state === 'recovering') {
      this.shutdown(err, 'destroy', false);
      return Promise.resolve();
    }
    this.state = 'closing';
    let resolve!: () => void;
    const promise = new Promise<void>((res) => (resolve = res));
    this.closing = { promise, resolve, timer: null, err };
    this.writeClose(200, 'Normal shutdown');
    if (o.noWait || this.blocked !== null) {
      this.fw.flushNow();
      this.shutdown(err, 'destroy', false);
      return promise;
    }
    const timeout = o.timeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.closing.timer = setTimeout(() => this.shutdown(err, 'destroy', false), timeout);
    return promise;
  }

  /** Resolves when the connection has ended (it keeps waiting through a recovery); rejects `TimeoutError` after `timeout` ms. */
  waitClosed(timeout?: number): Promise<void> {
    if (this.state === 'closed' || timeout === undefined) return this.whenEnded;
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new TimeoutError(`connection still open after ${timeout} ms`)), timeout);
      void this.whenEnded.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * connection.update-secret: hand the broker a new secret (an OAuth 2
   * token before the old one expires); resolves on update-secret-ok. The
   * new secret is also the password of later connection attempts
   * (recovery), unless `password` is a function. A refused secret ends the
   * connection as the broker does: the call rejects with that error, and
   * onError gets it too.
   */
  updateSecret(newSecret: string, reason: string, o: SecretUpdateOptions = {}): Promise<void> {
    if (typeof newSecret !== 'string') return Promise.reject(new TypeError('updateSecret: newSecret must be a string'));
    const gone = (): Error | null => (this.state === 'open' ? null : this.goneError());
    return this.secretUpdate.send(this.fw, gone, newSecret, reason, o).then(() => this.credentials.update(newSecret));
  }

  /** RPC over direct reply-to on a channel of its own: `call()` many at once, matched by correlationId (see RpcClient). */
  rpcClient(o?: RpcClientOptions): Promise<RpcClient> {
    return openRpcClient(this, o);
  }

  /** Answer requests from `queueName` (not declared) with `handler`: reply to replyTo, then ack (see RpcServer). */
  rpcServer(queueName: string, handler: RpcHandler, o?: RpcServerOptions): Promise<RpcServer> {
    return openRpcServer(this, queueName, handler, o);
  }

  // ------------------------------------------------------------ internal API

  /** @internal The link's handshake (see ConnectionCore); notes the socket's remote address, and tells `amqp091:connection` of the first open. */
  override attach(socket: Socket, endpoint?: Endpoint): Promise<void> {
    this.remote = { host: socket.remoteAddress ?? endpoint?.host ?? '', port: socket.remotePort ?? endpoint?.port ?? 0 };
    return super.attach(socket, endpoint).then(() => {
      if (this.opened || this.state !== 'open') return;
      this.opened = true;
      if (connectionTrace.hasSubscribers) traced.connection('open', this.remote);
    });
  }

  /** Emit to the user's listeners, and tell `amqp091:connection` of the events it carries. */
  protected override safeEmit<K extends keyof AmqpProtocolEvents>(event: K, ...args: AmqpProtocolEvents[K]): void {
    super.safeEmit(event, ...args);
    if (!connectionTrace.hasSubscribers) return;
    const a: unknown = args[0];
    if (event === 'blocked') traced.connection('blocked', this.remote, { reason: a as string });
    else if (event === 'unblocked') traced.connection('unblocked', this.remote);
    else if (event === 'disconnected') traced.connection('disconnected', this.remote, { error: a as AmqpClosedConnection });
    else if (event === 'recovered') traced.connection('recovered', this.remote, a as { attempts: number; downtimeMs: number });
  }

  /** @internal connect() turns recovery on once the first link is open. */
  enableRecovery(setup: RecoverySetup): void {
    this.recovery = setup;
    if (setup.policy.topology) this.topology = new TopologyRecorder();
  }

  /** @internal End the connection with `err` (connect timeout, say); not reported to onError. */
  abort(err: AmqpClosedConnection): void {
    if (this.state === 'recovering') this.lost(err, 'destroy', true);
    else this.shutdown(err, 'destroy', false);
  }

  /** @internal Transport.close(): the user destroys the socket. */
  transportClosing(): void {
    this.userClosed = true;
    if (this.state === 'recovering') this.shutdown(new AmqpClosedConnection({ replyText: 'transport closed by the user' }), 'destroy', false);
  }

  /** @internal A channel is finished with its id. */
  releaseChannel(ch: { readonly channelId: number }): void {
    const own = this.channels.get(ch.channelId);
    if (own === ch) this.channels.release(own);
  }

  /** @internal Hold a publish until the connection is unblocked and recovered and its channel's flow is on (PublishBufferFull past maxHeldBytes). */
  holdPublish(bytes: number, run: () => void, fail: (err: Error) => void, owner: HoldOwner): void {
    this.held.hold(bytes, run, fail, owner);
  }

  /** @internal A held publish gave up waiting (its timeout or signal): it is never sent. */
  dropHeld(run: () => void): void {
    this.held.drop(run);
  }

  /** @internal Fail the publishes held for a channel that ended. */
  failHeld(owner: HoldOwner, err: Error): void {
    this.held.failOwner(owner, err);
  }

  protected onConnectionReply(m: IncomingMethod): boolean {
    return m.id === CONNECTION_UPDATE_SECRET_OK && this.secretUpdate.ok();
  }

  // ------------------------------------------------------------ losing the link

  protected lost(err: AmqpClosedConnection, socket: SocketEnd, recoverable: boolean): void {
    if (this.state === 'closed') return;
    if (this.state === 'recovering') {
      // An attempt's link failed (handshake or replay): the recoverer moves on.
      this.dropLinkForRecovery(err, socket);
      return;
    }
    if (!recoverable || this.recovery === null || this.state !== 'open') {
      this.shutdown(err, socket, true);
      return;
    }
    this.startRecovery(err, socket);
  }

  private startRecovery(err: AmqpClosedConnection, socket: SocketEnd): void {
    const setup = this.recovery!;
    const since = Date.now();
    this.state = 'recovering';
    this.blocked = null;
    // Whoever retries what failed here may: the link, not the request, was the problem.
    Object.assign(err, { retriable: true });
    this.dropLinkForRecovery(err, socket);
    let resolve!: () => void;
    this.outage = { promise: new Promise<void>((res) => (resolve = res)), resolve };
    this.safeEmit('disconnected', err);
    const recoverer = new Recoverer(setup.policy, setup.endpoints, {
      isRecovering: () => this.state === 'recovering',
      attempt: async (endpoint) => {
        await setup.dial(endpoint);
        await replay(this.replayHost, this.topology);
      },
      abandonLink: (e) => this.lost(e, 'destroy', true),
      announce: (info) => this.safeEmit('recovering', info),
      recovered: (info) => this.recovered(info),
      gaveUp: (e) => this.gaveUp(e),
    });
    this.recoverer = recoverer;
    void recoverer.run(setup.current, since).then((index) => {
      if (index >= 0) setup.current = index;
    });
  }

  private readonly replayHost = {
    isLinkUp: () => this.linkUp,
    userChannels: () => this.userChannels(),
    openRecoveryChannel: async (): Promise<Channel> => {
      const id = this.channels.allocate();
      if (id === 0) throw new NoChannelAvailable('no channel id left for recovery');
      const ch = Channel.create(this, id);
      this.channels.add(ch);
      this.recoveryChannels.add(ch);
      await ch.openForRecovery();
      return ch;
    },
    report: (e: unknown) => this.report(e),
  };

  private recovered(info: RecoveredInfo): void {
    this.state = 'open';
    this.recoverer = null;
    for (const ch of this.userChannels()) ch.resume();
    this.releaseHeld();
    this.endOutage();
    this.safeEmit('recovered', info);
  }

  private gaveUp(err: AmqpClosedConnection): void {
    this.recoverer = null;
    this.shutdown(err, 'destroy', false);
    this.safeEmit('recoveryFailed', err);
    this.report(err);
  }

  protected override shutdown(err: AmqpClosedConnection, socket: SocketEnd, report: boolean): void {
    this.recoverer?.stop();
    this.recoverer = null;
    const ending = this.state !== 'closed';
    super.shutdown(err, socket, report);
    this.secretUpdate.fail(err);
    this.endOutage();
    if (ending && this.opened && connectionTrace.hasSubscribers) traced.connection('close', this.remote, { error: err });
  }

  private endOutage(): void {
    const o = this.outage;
    this.outage = null;
    o?.resolve();
  }

  /** Let go of a lost link; the user's channels wait for the next one, recovery's own are done. */
  private dropLinkForRecovery(err: AmqpClosedConnection, socket: SocketEnd): void {
    this.dropLink(err, socket);
    this.link = null;
    this.secretUpdate.fail(err);
    for (const ch of this.channels.list()) {
      if (this.recoveryChannels.has(ch)) ch.connectionLost(err);
      else ch.linkDown(err);
    }
  }

  /** The user's channels (not recovery's own), in id order. */
  private userChannels(): Channel[] {
    return this.channels.list().filter((ch) => !this.recoveryChannels.has(ch));
  }
}
