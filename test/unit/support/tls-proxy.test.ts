import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { sleep } from '../../support/async.js';
import { startTlsProxy, testCertificates, type TlsProxy } from '../../support/tls-proxy.js';
import { handleCounts, leakedSince } from '../../support/leaks.js';


/** Resolves with the connected socket, or rejects with the TLS error (code attached). */
function tlsConnect(opts: tls.ConnectionOptions, sockets: tls.TLSSocket[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(opts, () => resolve(s));
    sockets.push(s);
    s.on('error', reject); // 'on': a second error must not become an uncaught exception
  });
}

function firstBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('timeout')), 5000);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= n) {
        clearTimeout(timer);
        resolve(buf.subarray(0, n));
      }
    });
  });
}

describe('tls-proxy', () => {
  let echo: net.Server;
  let echoPort: number;
  let baseline: Map<string, number>;
  let sockets: tls.TLSSocket[];
  let proxies: TlsProxy[];

  beforeAll(() => {
    testCertificates(); // generate once, outside the handle baseline
  });

  beforeEach(async () => {
    baseline = handleCounts();
    sockets = [];
    proxies = [];
    echo = net.createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const a = echo.address();
    echoPort = a !== null && typeof a === 'object' ? a.port : 0;
  });

  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await sleep(10); // the test's own sockets
    for (const p of proxies) await p.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
    await sleep(0);
    expect(leakedSince(baseline)).toEqual([]);
  });

  async function proxy(o: Parameters<typeof startTlsProxy>[0]): Promise<TlsProxy> {
    const p = await startTlsProxy(o);
    proxies.push(p);
    return p;
  }

  test('a client that trusts the CA connects (by name and by IP) and bytes flow through', async () => {
    const p = await proxy({ targetPort: echoPort, cert: 'trusted' });
    for (const host of ['localhost', '127.0.0.1']) {
      const s = await tlsConnect({ host, port: p.port, ca: p.ca }, sockets);
      expect(s.authorized).toBe(true);
      s.write('ping');
      expect((await firstBytes(s, 4)).toString()).toBe('ping');
    }
    expect(p.accepted).toBe(2);
    expect(p.open).toBe(2);
  });

  test('without the CA the certificate fails verification', async () => {
    const p = await proxy({ targetPort: echoPort, cert: 'trusted' });
    const err = await tlsConnect({ host: 'localhost', port: p.port }, sockets).catch((e: NodeJS.ErrnoException) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as NodeJS.ErrnoException).code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN/);
  });

  test('the untrusted certificate is refused even with the CA, and accepted with verification off', async () => {
    const p = await proxy({ targetPort: echoPort, cert: 'untrusted' });
    const err = await tlsConnect({ host: 'localhost', port: p.port, ca: p.ca }, sockets).catch((e: NodeJS.ErrnoException) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

    const s = await tlsConnect({ host: 'localhost', port: p.port, rejectUnauthorized: false }, sockets);
    expect(s.authorized).toBe(false);
    s.write('x');
    expect((await firstBytes(s, 1)).toString()).toBe('x');
  });

  test('the wrong host name is refused', async () => {
    const p = await proxy({ targetPort: echoPort });
    const err = await tlsConnect({ host: '127.0.0.1', servername: 'example.com', port: p.port, ca: p.ca }, sockets).catch(
      (e: NodeJS.ErrnoException) => e,
    );
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('client certificates: required when asked for, accepted when issued by the CA', async () => {
    const p = await proxy({ targetPort: echoPort, requireClientCert: true });
    const { clientCert, clientKey } = p.certificates;
    const s = await tlsConnect({ host: 'localhost', port: p.port, ca: p.ca, cert: clientCert, key: clientKey }, sockets);
    s.write('hi');
    expect((await firstBytes(s, 2)).toString()).toBe('hi');
    expect(p.clientNames).toEqual(['amqp091-test-client']);

    // Without a certificate the server ends the connection (TLS 1.3 reports it after the handshake).
    const refused = await new Promise<string>((resolve) => {
      const c = tls.connect({ host: 'localhost', port: p.port, ca: p.ca }, () => c.write('hi'));
      sockets.push(c);
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      c.on('data', () => resolve('data'));
      c.on('close', () => resolve('closed'));
    });
    expect(refused).not.toBe('data');
  });

  test('in front of the broker: the AMQP protocol header gets connection.start back', async () => {
    const p = await proxy({ cert: 'trusted' }); // default target 127.0.0.1:5672
    const s = await tlsConnect({ host: 'localhost', port: p.port, ca: p.ca }, sockets);
    s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    const head = await firstBytes(s, 11);
    expect(head.readUInt8(0)).toBe(1); // method frame
    expect(head.readUInt16BE(1)).toBe(0); // channel 0
    expect([head.readUInt16BE(7), head.readUInt16BE(9)]).toEqual([10, 10]); // connection.start
  });

  test('close() while a handshake and a connection are open leaves no handles', async () => {
    const p = await proxy({ targetPort: echoPort });
    const s = await tlsConnect({ host: 'localhost', port: p.port, ca: p.ca }, sockets);
    const raw = net.connect({ host: '127.0.0.1', port: p.port }); // never starts TLS
    raw.on('error', () => {});
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    const closed = Promise.all([s, raw].map((x) => new Promise<void>((resolve) => x.once('close', () => resolve()))));
    await p.close();
    await closed;
    await p.close(); // idempotent
  });
});
