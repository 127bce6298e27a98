// connect(): open the TCP (or TLS) socket, run the handshake, and return
// the transport and protocol objects. The connect timeout covers TCP, TLS
// and the handshake together; every failure rejects with
// AmqpClosedConnection (or a subclass) and leaves no socket behind.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { AmqpClosedConnection, TimeoutError } from './errors.js';
import { AmqpProtocol } from './connection.js';
import { checkLoginMethod, checkTuningOptions } from './negotiation.js';
import { DEFAULT_CONNECT_TIMEOUT, type ProtocolOptions } from './options.js';

export type ProtocolFactory<P extends AmqpProtocol = AmqpProtocol> = new (options?: ProtocolOptions) => P;

export interface ConnectOptions<P extends AmqpProtocol = AmqpProtocol> extends ProtocolOptions {
  host?: string;
  /** Default 5672, or 5671 with `ssl`. */
  port?: number;
  /** `true` or TLS options (client certificates, CA...): connect over TLS. */
  ssl?: boolean | tls.ConnectionOptions;
  /** Verify the server certificate (default true). */
  verifySsl?: boolean;
  /** A subclass of AmqpProtocol to instantiate instead. */
  protocolFactory?: ProtocolFactory<P>;
  /** Milliseconds for TCP + TLS + handshake together (default 30000). */
  connectTimeout?: number;
}

/** The socket under a protocol object. */
export class Transport {
  constructor(
    readonly socket: net.Socket | tls.TLSSocket,
    private readonly protocol: AmqpProtocol,
  ) {}

  /** Destroy the socket if it is still open (no close handshake; not reported to onError). */
  close(): void {
    this.protocol.transportClosing();
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

function openSocket(o: ConnectOptions, host: string, port: number): net.Socket | tls.TLSSocket {
  if (o.ssl) {
    const extra: tls.ConnectionOptions = typeof o.ssl === 'object' ? o.ssl : {};
    const verify = o.verifySsl ?? true;
    return tls.connect({
      host,
      port,
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
      ...extra,
      rejectUnauthorized: verify && (extra.rejectUnauthorized ?? true),
    });
  }
  return net.connect({ host, port });
}

/**
 * Connect to a broker. Resolves `[transport, protocol]` once the
 * connection is open.
 */
export async function connect<P extends AmqpProtocol = AmqpProtocol>(options: ConnectOptions<P> = {}): Promise<[Transport, P]> {
  checkLoginMethod(options.loginMethod ?? 'PLAIN');
  checkTuningOptions(options);
  const host = options.host ?? 'localhost';
  const port = options.port ?? (options.ssl ? 5671 : 5672);
  const timeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const Factory = options.protocolFactory ?? AmqpProtocol;
  // The protocol keeps its own options only: TLS keys and the like stay out of it (and out of inspection).
  const { ssl: _ssl, verifySsl: _verify, protocolFactory: _factory, ...protocolOptions } = options;
  const protocol = new Factory(protocolOptions) as P;
  const where = `${host}:${port}`;

  const socket = openSocket(options, host, port);
  socket.setNoDelay(true);
  const transport = new Transport(socket, protocol);

  let timer: NodeJS.Timeout | null = null;
  let onTimeout: (() => void) | null = null;
  const expired = new Promise<never>((_, reject) => {
    onTimeout = () => {
      const err = new AmqpClosedConnection({
        replyText: `could not connect to ${where} within ${timeout} ms`,
        cause: new TimeoutError(`connect timeout of ${timeout} ms`),
      });
      protocol.abort(err);
      socket.destroy();
      reject(err);
    };
  });
  expired.catch(() => undefined);
  timer = setTimeout(() => onTimeout?.(), timeout);

  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        const ready = options.ssl ? 'secureConnect' : 'connect';
        const onReady = (): void => {
          socket.off('error', onError);
          resolve();
        };
        const onError = (err: Error): void => {
          socket.off(ready, onReady);
          socket.destroy();
          reject(new AmqpClosedConnection({ replyText: `could not connect to ${where}: ${err.message}`, cause: err }));
        };
        socket.once(ready, onReady);
        socket.once('error', onError);
      }),
      expired,
    ]);
    await Promise.race([protocol.attach(socket), expired]);
  } catch (err) {
    socket.destroy();
    if (protocol.state !== 'closed' && err instanceof AmqpClosedConnection) protocol.abort(err);
    throw err;
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  return [transport, protocol];
}
