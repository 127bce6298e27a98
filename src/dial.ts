// dial(): open the TCP (or TLS) socket to one endpoint and run the AMQP
// handshake on it, all within one timeout. Used for the first connection
// and for every recovery attempt. On any failure the socket is destroyed
// and the promise rejects with AmqpClosedConnection.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { AmqpClosedConnection, TimeoutError } from './errors.js';
import type { Endpoint } from './endpoints.js';

export interface DialOptions {
  /** `true` or TLS options: connect over TLS. */
  ssl?: boolean | tls.ConnectionOptions | undefined;
  /** Verify the server certificate (default true). */
  verifySsl?: boolean | undefined;
  /** Milliseconds for TCP + TLS + handshake together. */
  timeout: number;
  /** Abort the attempt: the socket is destroyed and the dial rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

export type Socketish = net.Socket | tls.TLSSocket;

function openSocket(o: DialOptions, host: string, port: number): Socketish {
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
 * Open a socket to `endpoint` and hand it to `handshake`, which resolves
 * once the connection is open. `abort(err)` is called when the timeout
 * passes (the handshake's owner then gives up on it).
 */
export async function dial(
  endpoint: Endpoint,
  o: DialOptions,
  handshake: (socket: Socketish) => Promise<void>,
  abort: (err: AmqpClosedConnection) => void,
): Promise<Socketish> {
  const where = `${endpoint.host}:${endpoint.port}`;
  if (o.signal?.aborted) throw o.signal.reason;
  const socket = openSocket(o, endpoint.host, endpoint.port);
  socket.setNoDelay(true);
  let timer: NodeJS.Timeout | null = null;
  let onAbort: (() => void) | null = null;
  const expired = new Promise<never>((_, reject) => {
    const giveUp = (err: AmqpClosedConnection, reason: unknown): void => {
      abort(err);
      socket.destroy();
      reject(reason);
    };
    timer = setTimeout(() => {
      const err = new AmqpClosedConnection({
        replyText: `could not connect to ${where} within ${o.timeout} ms`,
        cause: new TimeoutError(`connect timeout of ${o.timeout} ms`),
      });
      giveUp(err, err);
    }, o.timeout);
    onAbort = () => giveUp(new AmqpClosedConnection({ replyText: `connect to ${where} aborted`, cause: o.signal!.reason }), o.signal!.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
  expired.catch(() => undefined);
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        const ready = o.ssl ? 'secureConnect' : 'connect';
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
    await Promise.race([handshake(socket), expired]);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    if (timer !== null) clearTimeout(timer);
    if (onAbort !== null) o.signal?.removeEventListener('abort', onAbort);
  }
}
