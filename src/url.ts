// fromUrl(): RabbitMQ's AMQP URI spec (https://www.rabbitmq.com/docs/uri-spec)
// mapped onto connect() options.

import type * as tls from 'node:tls';
import { connect, connectEndpoints, type ConnectOptions, type Transport } from './connect.js';
import type { Endpoint } from './endpoints.js';
import type { AmqpProtocol } from './connection.js';
import type { LoginMethod } from './options.js';
import { mergeSsl, readTlsParam, tlsOptions, type UrlTlsParams } from './url-tls.js';

function intParam(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new TypeError(`AMQP URI: query parameter ${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TypeError(`AMQP URI: invalid percent-encoding in the ${what}`);
  }
}

/** `url` with the password of its userinfo replaced by `***`, for error messages. */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, '$1:***@');
}

/**
 * Parse an `amqp://` or `amqps://` URI into connect() options. Throws
 * `TypeError` (never showing the password) when invalid. The TLS parameters
 * of an amqps:// URI (`cacertfile`, `certfile`, `keyfile`) are read here,
 * synchronously: an unreadable file throws `TypeError` naming it.
 */
export function parseUrl(url: string): ConnectOptions {
  if (typeof url !== 'string') throw new TypeError('AMQP URI must be a string');
  const m = /^(amqps?):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(url);
  if (m === null) throw new TypeError(`not an amqp:// or amqps:// URI: '${redact(url)}'`);
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  const path = m[3];
  const query = m[4];
  const o: ConnectOptions = {};
  if (scheme === 'amqps') o.ssl = true;

  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (user !== '') o.login = decode(user, 'username');
    if (colon >= 0) o.password = decode(userinfo.slice(colon + 1), 'password');
  }
  let host = hostPort;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw new TypeError(`AMQP URI: unterminated IPv6 address in '${redact(url)}'`);
    host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    if (rest.startsWith(':')) port = rest.slice(1);
    else if (rest !== '') throw new TypeError(`AMQP URI: unexpected '${rest}' after the host`);
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon >= 0) {
      host = hostPort.slice(0, colon);
      port = hostPort.slice(colon + 1);
    }
  }
  if (host !== '') o.host = decode(host, 'host');
  if (port !== undefined && port !== '') {
    const p = intParam('port', port);
    if (p < 1 || p > 65535) throw new TypeError(`AMQP URI: port ${p} out of range`);
    o.port = p;
  }

  // Absent or empty path: vhost '/'. One segment, percent-decoded ('%2F' is '/').
  if (path !== undefined && path.length > 1) {
    const segment = path.slice(1);
    if (segment.includes('/')) throw new TypeError(`AMQP URI: the vhost must be one path segment (encode '/' as %2F): '${path}'`);
    o.virtualhost = decode(segment, 'vhost');
  } else {
    o.virtualhost = '/';
  }

  const tlsParams: UrlTlsParams = {};
  const tlsKeys: string[] = [];
  if (query !== undefined && query.length > 1) {
    for (const pair of query.slice(1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = decode(eq >= 0 ? pair.slice(0, eq) : pair, 'query');
      const value = decode(eq >= 0 ? pair.slice(eq + 1).replace(/\+/g, ' ') : '', 'query');
      switch (key) {
        case 'heartbeat':
          o.heartbeat = intParam(key, value);
          break;
        case 'channel_max':
          o.channelMax = intParam(key, value);
          break;
        case 'frame_max':
          o.frameMax = intParam(key, value);
          break;
        case 'connection_timeout':
          o.connectTimeout = intParam(key, value);
          break;
        case 'auth_mechanism': {
          const mech = value.toUpperCase();
          if (mech !== 'PLAIN' && mech !== 'AMQPLAIN' && mech !== 'EXTERNAL') {
            throw new TypeError(`AMQP URI: unsupported auth_mechanism '${value}'`);
          }
          o.loginMethod = mech as LoginMethod;
          break;
        }
        case 'name':
          o.connectionName = value;
          break;
        default:
          if (readTlsParam(tlsParams, key, value)) tlsKeys.push(key);
          break; // other parameters (locale...) are ignored
      }
    }
  }
  if (tlsKeys.length > 0) {
    if (scheme !== 'amqps') {
      throw new TypeError(`AMQP URI: TLS parameters (${tlsKeys.join(', ')}) need an amqps:// URI: '${redact(url)}'`);
    }
    Object.assign(o, tlsOptions(tlsParams));
  }
  return o;
}

/**
 * Connect using an AMQP URI, or a list of them (tried in order, each
 * keeping its own credentials and vhost; with `recovery`, each recovery
 * attempt moves to the next). `options` override what every URI says.
 *
 * @example
 * const [transport, protocol] = await fromUrl('amqp://guest:guest@localhost:5672/%2F?heartbeat=30');
 */
export async function fromUrl<P extends AmqpProtocol = AmqpProtocol>(
  url: string | readonly string[],
  options: ConnectOptions<P> = {},
): Promise<[Transport, P]> {
  const urls = typeof url === 'string' ? [url] : url;
  if (!Array.isArray(urls) || urls.length === 0) throw new TypeError('fromUrl: url must be a URI or a non-empty list of URIs');
  const parsed = urls.map((u) => parseUrl(u) as ConnectOptions<P>);
  const merged: ConnectOptions<P> = { ...parsed[0]! };
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (k === 'ssl') merged.ssl = mergeSsl(merged.ssl, v as boolean | tls.ConnectionOptions);
    else (merged as Record<string, unknown>)[k] = v;
  }
  if (typeof url === 'string') return connect(merged);
  // One endpoint per URI, with its own login, password and vhost unless the options say otherwise.
  const port = merged.ssl ? 5671 : 5672;
  const endpoints: Endpoint[] = parsed.map((o) => ({
    host: o.host ?? 'localhost',
    port: options.port ?? o.port ?? port,
    ...(options.login === undefined && o.login !== undefined ? { login: o.login } : {}),
    ...(options.password === undefined && typeof o.password === 'string' ? { password: o.password } : {}),
    ...(options.virtualhost === undefined && o.virtualhost !== undefined ? { virtualhost: o.virtualhost } : {}),
  }));
  return connectEndpoints(endpoints, merged);
}
