// connect(): open a connection to the first host that answers, and return
// the transport and protocol objects. Each host gets one try (TCP, TLS and
// the handshake within the connect timeout, dial.ts); when every host
// failed, the last host's error rejects, carrying all of them in `errors`.
// With `recovery` on, the protocol keeps the host list to reconnect later.

import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { AmqpClosedConnection } from './errors.js';
import { AmqpProtocol } from './connection.js';
import { dial, type DialOptions } from './dial.js';
import { parseHosts, type Endpoint, type HostSpec } from './endpoints.js';
import { checkLoginMethod, checkTuningOptions } from './negotiation.js';
import { DEFAULT_CONNECT_TIMEOUT, type ProtocolOptions } from './options.js';
import { recoveryPolicy, type RecoveryOptions } from './recovery/policy.js';

/** A class to build the protocol object with: `AmqpProtocol` or a subclass of it (the `protocolFactory` option). */
export type ProtocolFactory<P extends AmqpProtocol = AmqpProtocol> = new (options?: ProtocolOptions) => P;

/** Options of `connect` and `fromUrl`: where to connect, and the protocol options (credentials, vhost, tuning, onError...). */
export interface ConnectOptions<P extends AmqpProtocol = AmqpProtocol> extends ProtocolOptions {
  /** Broker host name or address (default 'localhost'); `hosts` wins over it. */
  host?: string;
  /** Default 5672, or 5671 with `ssl`. */
  port?: number;
  /** Brokers to try in order: 'host', 'host:port' or { host, port }; wins over `host`. */
  hosts?: HostSpec[];
  /** `true` or TLS options (client certificates, CA...): connect over TLS. */
  ssl?: boolean | tls.ConnectionOptions;
  /** Verify the server certificate (default true). */
  verifySsl?: boolean;
  /** A subclass of AmqpProtocol to instantiate instead. */
  protocolFactory?: ProtocolFactory<P>;
  /** Milliseconds for TCP + TLS + handshake together (default 30000), per host and per recovery attempt. */
  connectTimeout?: number;
  /** Reconnect and replay the topology when the link is lost (default off). */
  recovery?: boolean | RecoveryOptions;
  /** Abort connecting: rejects with `signal.reason` and closes the socket. */
  signal?: AbortSignal;
}

/** The socket under a protocol object (after a recovery, the new one). */
export class Transport {
  constructor(
    private readonly firstSocket: net.Socket | tls.TLSSocket,
    private readonly protocol: AmqpProtocol,
  ) {}

  /** The current socket: a `net.Socket`, or a `tls.TLSSocket` with `ssl`. */
  get socket(): net.Socket | tls.TLSSocket {
    return this.protocol.socket ?? this.firstSocket;
  }

  /** Destroy the socket if it is still open (no close handshake; not reported to onError). */
  close(): void {
    this.protocol.transportClosing();
    const socket = this.socket;
    if (!socket.destroyed) socket.destroy();
  }
}

/**
 * Connect to a broker. Resolves `[transport, protocol]` once the
 * connection is open.
 *
 * @example
 * ```ts
 * const [transport, protocol] = await connect({
 *   host: 'localhost',
 *   login: 'guest',
 *   password: 'guest',
 *   onError: (err) => console.error(err),
 * });
 * // ... use protocol.channel() ...
 * await protocol.close();
 * transport.close();
 * ```
 */
export function connect<P extends AmqpProtocol = AmqpProtocol>(options: ConnectOptions<P> = {}): Promise<[Transport, P]> {
  try {
    const port = options.port ?? (options.ssl ? 5671 : 5672);
    const endpoints = options.hosts !== undefined ? parseHosts(options.hosts, port) : [{ host: options.host ?? 'localhost', port }];
    return connectEndpoints(endpoints, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** @internal connect() over endpoints that may carry their own credentials (a list of URLs). */
export async function connectEndpoints<P extends AmqpProtocol = AmqpProtocol>(
  endpoints: readonly Endpoint[],
  options: ConnectOptions<P>,
): Promise<[Transport, P]> {
  checkLoginMethod(options.loginMethod ?? 'PLAIN');
  checkTuningOptions(options);
  const policy = recoveryPolicy(options.recovery);
  const Factory = options.protocolFactory ?? AmqpProtocol;
  // The protocol keeps its own options only: TLS keys and the like stay out of it (and out of inspection).
  const { ssl, verifySsl, signal, protocolFactory: _f, hosts: _h, host: _host, port: _port, recovery: _r, ...protocolOptions } = options;
  const dialOptions: DialOptions = { ssl, verifySsl, timeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT };
  const errors: AmqpClosedConnection[] = [];
  for (let i = 0; i < endpoints.length; i++) {
    const protocol = new Factory(protocolOptions) as P;
    const open = (e: Endpoint) =>
      dial(
        e,
        dialOptions,
        (socket) => protocol.attach(socket, e),
        (err) => protocol.abort(err),
      );
    try {
      await protocol.credentials.prepare().catch((err: unknown) => {
        throw new AmqpClosedConnection({ replyText: `the password function failed: ${err instanceof Error ? err.message : String(err)}`, cause: err });
      });
      const socket = await dial(endpoints[i]!, { ...dialOptions, signal }, (s) => protocol.attach(s, endpoints[i]), (err) => protocol.abort(err));
      if (policy !== null) {
        const redial = (e: Endpoint): Promise<void> => protocol.credentials.prepare().then(() => open(e).then(() => undefined));
        protocol.enableRecovery({ policy, endpoints, current: i, dial: redial });
      }
      return [new Transport(socket, protocol), protocol];
    } catch (err) {
      if (signal?.aborted || !(err instanceof AmqpClosedConnection)) throw err;
      if (protocol.state !== 'closed') protocol.abort(err);
      errors.push(err);
    }
  }
  const last = errors[errors.length - 1]!;
  last.errors = errors;
  throw last;
}
