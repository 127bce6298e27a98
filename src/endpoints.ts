// Endpoints: where a connection may go. `hosts` entries ('host',
// 'host:port', { host, port }) or a list of URLs (each with its own
// credentials and vhost) become one list, tried in order.

/** One broker address, with what a URL of its own may say about logging in. */
export interface Endpoint {
  host: string;
  port: number;
  login?: string;
  password?: string;
  virtualhost?: string;
}

/** One entry of the `hosts` option: 'host', 'host:port', '[ipv6]:port', or an object. */
export type HostSpec =
  | string
  | {
      /** Host name or address. */
      host: string;
      /** Port (default: the `port` option, else 5672, or 5671 with `ssl`). */
      port?: number;
    };

/** `hosts` entries as endpoints; a missing port is `defaultPort`. Throws `TypeError` for a malformed entry. */
export function parseHosts(hosts: readonly HostSpec[], defaultPort: number): Endpoint[] {
  if (!Array.isArray(hosts) || hosts.length === 0) throw new TypeError('hosts must be a non-empty array');
  return hosts.map((h, i) => {
    if (typeof h === 'object' && h !== null && typeof h.host === 'string') {
      return { host: h.host, port: checkPort(h.port ?? defaultPort, i) };
    }
    if (typeof h !== 'string' || h === '') throw new TypeError(`hosts[${i}] must be 'host', 'host:port' or { host, port }`);
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(h); // [ipv6]:port
    if (bracket !== null) return { host: bracket[1]!, port: checkPort(bracket[2] === undefined ? defaultPort : Number(bracket[2]), i) };
    const colon = h.lastIndexOf(':');
    if (colon > 0 && h.indexOf(':') === colon) return { host: h.slice(0, colon), port: checkPort(Number(h.slice(colon + 1)), i) };
    return { host: h, port: defaultPort };
  });
}

function checkPort(port: number, i: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`hosts[${i}]: port must be an integer 1..65535, got ${String(port)}`);
  return port;
}
