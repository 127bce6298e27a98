// The URL → options translation of RabbitMQ's TLS query parameters and the
// connection name (API.md "URL parameters and TLS" and "Beyond aioamqp: URLs").
// No broker: files are written to a temp dir, sockets go to a local server
// that only counts connections.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { fromUrl, parseUrl } from '../../src/index.js';
import { clientProperties } from '../../src/negotiation.js';
import { mergeSsl } from '../../src/url-tls.js';

const dir = mkdtempSync(path.join(tmpdir(), 'amqp091-url-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
const ca = file('ca.pem', 'CA PEM');
const cert = file('cert.pem', 'CERT PEM');
const key = file('key.pem', 'KEY PEM');
const missing = path.join(dir, 'no-such-file.pem');
const q = encodeURIComponent;

function sslOf(url: string): tls.ConnectionOptions {
  const ssl = parseUrl(url).ssl;
  if (typeof ssl !== 'object') throw new Error(`expected TLS options, got ${String(ssl)}`);
  return ssl;
}

describe('parseUrl: TLS parameters', () => {
  it('cacertfile, certfile and keyfile are read into ca, cert and key', () => {
    const ssl = sslOf(`amqps://h/?cacertfile=${q(ca)}&certfile=${q(cert)}&keyfile=${q(key)}`);
    expect(ssl.ca?.toString()).toBe('CA PEM');
    expect(ssl.cert?.toString()).toBe('CERT PEM');
    expect(ssl.key?.toString()).toBe('KEY PEM');
  });

  it('each file parameter alone sets only its own option', () => {
    expect(Object.keys(sslOf(`amqps://h?cacertfile=${q(ca)}`))).toEqual(['ca']);
    expect(Object.keys(sslOf(`amqps://h?certfile=${q(cert)}`))).toEqual(['cert']);
    expect(Object.keys(sslOf(`amqps://h?keyfile=${q(key)}`))).toEqual(['key']);
  });

  it('verify: verify_none turns verification off, verify_peer keeps it on, anything else is a TypeError', () => {
    expect(parseUrl('amqps://h?verify=verify_none').verifySsl).toBe(false);
    expect(parseUrl('amqps://h?verify=verify_peer').verifySsl).toBe(true);
    expect(parseUrl('amqps://h').verifySsl).toBeUndefined();
    expect(() => parseUrl('amqps://h?verify=yes')).toThrow(/verify must be verify_peer or verify_none, got 'yes'/);
  });

  it('server_name_indication is the SNI name and the name the certificate is checked against', () => {
    const ssl = sslOf('amqps://127.0.0.1:5671/?server_name_indication=broker.example');
    expect(ssl.servername).toBe('broker.example');
    const check = ssl.checkServerIdentity!;
    const forBroker = { subject: { CN: 'broker.example' }, subjectaltname: 'DNS:broker.example' } as unknown as tls.PeerCertificate;
    const forOther = { subject: { CN: 'other.example' }, subjectaltname: 'DNS:other.example' } as unknown as tls.PeerCertificate;
    // Whatever host Node passes (the IP we dial), the check is against the SNI name.
    expect(check('127.0.0.1', forBroker)).toBeUndefined();
    expect(check('broker.example', forOther)).toBeInstanceOf(Error);
  });

  it('server_name_indication: an IP address is checked but not sent as SNI; "disable" sends none', () => {
    const ip = sslOf('amqps://h?server_name_indication=10.0.0.1');
    expect(ip.servername).toBeUndefined();
    expect(ip.checkServerIdentity).toBeTypeOf('function');
    const off = sslOf('amqps://h?server_name_indication=disable');
    expect(off.servername).toBe('');
    expect(off.checkServerIdentity).toBeUndefined();
    expect(() => parseUrl('amqps://h?server_name_indication=')).toThrow(TypeError);
  });

  it('TLS parameters on an amqp:// URL are a TypeError naming them', () => {
    expect(() => parseUrl(`amqp://h?cacertfile=${q(ca)}`)).toThrow(TypeError);
    expect(() => parseUrl('amqp://h?verify=verify_none&server_name_indication=x')).toThrow(
      /TLS parameters \(verify, server_name_indication\) need an amqps:\/\/ URI/,
    );
    for (const p of ['certfile', 'keyfile']) expect(() => parseUrl(`amqp://h?${p}=${q(cert)}`)).toThrow(TypeError);
  });

  it('the password stays out of the amqp:// TLS-parameter error', () => {
    expect(() => parseUrl('amqp://u:s3cret@h?verify=verify_none')).toThrow(/amqp:\/\/u:\*\*\*@h/);
    expect(() => parseUrl('amqp://u:s3cret@h?verify=verify_none')).not.toThrow(/s3cret/);
  });

  it('an unreadable file is a TypeError naming the parameter and the file', () => {
    for (const p of ['cacertfile', 'certfile', 'keyfile']) {
      let err: unknown;
      try {
        parseUrl(`amqps://h?${p}=${q(missing)}`);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toContain(`${p} '${missing}'`);
      expect((err as Error).message).toContain('ENOENT');
    }
    // A directory is not readable as a file either.
    expect(() => parseUrl(`amqps://h?cacertfile=${q(dir)}`)).toThrow(new RegExp(`cacertfile '${dir}'.*EISDIR`));
  });

  it('unknown parameters are ignored, on amqp:// and amqps://', () => {
    expect(parseUrl('amqp://h?locale=en_US&depth=3&password=x')).toEqual({ host: 'h', virtualhost: '/' });
    expect(parseUrl('amqps://h?fail_if_no_peer_cert=true')).toEqual({ host: 'h', virtualhost: '/', ssl: true });
  });
});

describe('parseUrl: name', () => {
  it('name is the connection name, on amqp:// and amqps://', () => {
    expect(parseUrl('amqp://h?name=orders%20worker').connectionName).toBe('orders worker');
    expect(parseUrl('amqps://h?name=x').connectionName).toBe('x');
  });
});

describe('connection name precedence', () => {
  const sentName = (o: Parameters<typeof clientProperties>[0]) => clientProperties(o)['connection_name'];

  it('connectionName option, then URL name, then clientProperties.connection_name', () => {
    const fromUri = parseUrl('amqp://h?name=from-url');
    expect(sentName({ clientProperties: { connection_name: 'from-props' } })).toBe('from-props');
    expect(sentName({ ...fromUri, clientProperties: { connection_name: 'from-props' } })).toBe('from-url');
    expect(sentName({ ...fromUri, connectionName: 'from-option', clientProperties: { connection_name: 'from-props' } })).toBe(
      'from-option',
    );
    expect(sentName({})).toBeUndefined();
  });
});

describe('mergeSsl: options passed to fromUrl over the URL', () => {
  const uri: tls.ConnectionOptions = { ca: 'CA', servername: 'sni.example', checkServerIdentity: () => undefined };

  it('an object is merged key by key; true keeps the URL; false turns TLS off', () => {
    expect(mergeSsl(uri, { ca: 'MINE' })).toMatchObject({ ca: 'MINE', servername: 'sni.example' });
    expect(mergeSsl(uri, true)).toBe(uri);
    expect(mergeSsl(uri, false)).toBe(false);
    expect(mergeSsl(true, { ca: 'MINE' })).toEqual({ ca: 'MINE' });
    expect(mergeSsl(undefined, true)).toBe(true);
  });

  it('a servername of its own replaces the URL name check too', () => {
    const merged = mergeSsl(uri, { servername: 'mine.example' }) as tls.ConnectionOptions;
    expect(merged.servername).toBe('mine.example');
    expect(merged.checkServerIdentity).toBeUndefined();
  });
});

describe('fromUrl', () => {
  /** A TCP server that counts the connections made to it (and drops them). */
  async function countingServer(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
    let n = 0;
    const server = net.createServer((s) => {
      n += 1;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    return { port, count: () => n, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('an unreadable file rejects with TypeError naming it, before any socket opens', async () => {
    const server = await countingServer();
    try {
      const err = await fromUrl(`amqps://127.0.0.1:${server.port}/?certfile=${q(missing)}`, { connectTimeout: 500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toContain(missing);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.count()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('TLS parameters on amqp:// reject with TypeError before any socket opens', async () => {
    const server = await countingServer();
    try {
      await expect(fromUrl(`amqp://127.0.0.1:${server.port}/?verify=verify_none`)).rejects.toThrow(TypeError);
      expect(server.count()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
