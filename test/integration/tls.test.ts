// TLS for real: a TLS-terminating proxy on loopback (certificates generated
// with openssl at setup) in front of the broker's plain port.
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, connect, fromUrl } from '../../src/index.js';
import { startTlsProxy, type TlsProxy } from '../support/tls-proxy.js';
import { BROKER_HOST, BROKER_PORT, uniqueName } from '../support/broker.js';
import { rejectionOf } from '../support/async.js';

describe('TLS', () => {
  let proxy: TlsProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('connects to a trusted certificate and works end to end', async () => {
    proxy = await startTlsProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT, cert: 'trusted' });
    const [t, p] = await connect({ host: 'localhost', port: proxy.port, ssl: { ca: proxy.ca } });
    expect(t.socket.constructor.name).toBe('TLSSocket');
    const ch = await p.channel();
    const q = uniqueName('tls');
    await ch.queueDeclare(q, { exclusive: true });
    await ch.publish('over tls', '', q);
    const got = await ch.basicGet(q, { noAck: true });
    expect(got.message.toString()).toBe('over tls');
    await p.close();
    t.close();
  });

  it('refuses an untrusted certificate with AmqpClosedConnection carrying the TLS error', async () => {
    proxy = await startTlsProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT, cert: 'untrusted' });
    const err = await rejectionOf(connect({ host: 'localhost', port: proxy.port, ssl: true }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(0);
    const cause = (err as Error).cause as NodeJS.ErrnoException;
    expect(cause).toBeInstanceOf(Error);
    expect(cause.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it('accepts an untrusted certificate with verifySsl: false', async () => {
    proxy = await startTlsProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT, cert: 'untrusted' });
    const [t, p] = await connect({ host: 'localhost', port: proxy.port, ssl: true, verifySsl: false });
    expect(p.state).toBe('open');
    await p.close();
    t.close();
  });

  it('a trusted certificate is refused for a host name it does not cover', async () => {
    proxy = await startTlsProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT, cert: 'trusted' });
    const err = await rejectionOf(connect({ host: '127.0.0.1', port: proxy.port, ssl: { ca: proxy.ca, servername: 'wrong.example' } }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
  });

  it('passes client certificates through the TLS options', async () => {
    proxy = await startTlsProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT, cert: 'trusted', requireClientCert: true });
    const c = proxy.certificates;
    const [t, p] = await connect({ host: 'localhost', port: proxy.port, ssl: { ca: proxy.ca, cert: c.clientCert, key: c.clientKey } });
    expect(p.state).toBe('open');
    expect(proxy.clientNames).toContain('amqp091-test-client');
    await p.close();
    t.close();
  });

  it('amqps:// URLs use TLS', async () => {
    proxy = await startTlsProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT, cert: 'untrusted' });
    const [t, p] = await fromUrl(`amqps://guest:guest@localhost:${proxy.port}/`, { verifySsl: false });
    expect(t.socket.constructor.name).toBe('TLSSocket');
    await p.close();
    t.close();
  });
});
