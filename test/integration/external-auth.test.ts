// EXTERNAL login and the URL's TLS parameters against a real RabbitMQ node
// with TLS and rabbitmq_auth_mechanism_ssl: a separate node on free ports,
// started once for this file (test/support/tls-node.ts), stopped and removed
// in afterAll, also when a test fails. The machine's broker (5672) is not used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { AmqpClosedConnection, connect, fromUrl, type AmqpProtocol, type Transport } from '../../src/index.js';
import { startTlsNode, tlsNodeAvailable, type TlsNode } from '../support/tls-node.js';
import { uniqueName } from '../support/broker.js';
import { rejectionOf } from '../support/async.js';

const q = encodeURIComponent;

describe.skipIf(!tlsNodeAvailable())('EXTERNAL login and TLS URL parameters (own RabbitMQ node)', () => {
  let node: TlsNode;
  const open: Array<[Transport, AmqpProtocol]> = [];

  beforeAll(async () => {
    node = await startTlsNode();
    console.log(`tls node ${node.nodeName} ready on port ${node.tlsPort} in ${node.startSeconds.toFixed(1)} s`);
  }, 120_000);

  afterAll(async () => {
    for (const [t, p] of open.splice(0)) {
      await p.close().catch(() => undefined);
      t.close();
    }
    await node?.stop();
  }, 60_000);

  /** An amqps:// URL to the node with the client certificate, EXTERNAL login, and `extra` parameters. */
  function url(extra: string, cert: 'client' | 'stranger' | 'rogue' = 'client'): string {
    const f = node.files;
    const [c, k] = { client: [f.clientCert, f.clientKey], stranger: [f.strangerCert, f.strangerKey], rogue: [f.rogueCert, f.rogueKey] }[cert];
    return `amqps://127.0.0.1:${node.tlsPort}/?auth_mechanism=external&certfile=${q(c!)}&keyfile=${q(k!)}${extra}`;
  }
  const keep = (c: [Transport, AmqpProtocol]): [Transport, AmqpProtocol] => {
    open.push(c);
    return c;
  };
  const closeAll = async (): Promise<void> => {
    for (const [t, p] of open.splice(0)) {
      await p.close();
      t.close();
    }
  };

  it('logs in with a client certificate and loginMethod EXTERNAL, and works end to end', async () => {
    const f = node.files;
    const [, p] = keep(
      await connect({
        host: 'localhost',
        port: node.tlsPort,
        loginMethod: 'EXTERNAL',
        ssl: { ca: readFileSync(f.ca), cert: readFileSync(f.clientCert), key: readFileSync(f.clientKey) },
      }),
    );
    const ch = await p.channel();
    const queue = uniqueName('external');
    await ch.queueDeclare(queue, { exclusive: true });
    await ch.publish('over EXTERNAL', '', queue);
    expect((await ch.basicGet(queue, { noAck: true })).message.toString()).toBe('over EXTERNAL');

    const rows = JSON.parse(await node.ctl('list_connections', 'user', 'auth_mechanism', '--formatter', 'json', '-q')) as Array<{
      user: string;
      auth_mechanism: string;
    }>;
    expect(rows).toEqual([{ user: node.user, auth_mechanism: 'EXTERNAL' }]);
    await closeAll();
  });

  it('refuses a certificate whose CN is no user with 403 ACCESS_REFUSED', async () => {
    const err = await rejectionOf(fromUrl(url(`&cacertfile=${q(node.files.ca)}&server_name_indication=${node.altName}`, 'stranger')));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(403);
    expect((err as AmqpClosedConnection).replyText).toMatch(/ACCESS_REFUSED.*EXTERNAL/);
  });

  it('refuses EXTERNAL without a client certificate with 403', async () => {
    const sni = `&server_name_indication=${node.altName}`;
    const err = await rejectionOf(fromUrl(`amqps://127.0.0.1:${node.tlsPort}/?auth_mechanism=external&cacertfile=${q(node.files.ca)}${sni}`));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(403);
  });

  it('a client certificate the node does not trust is refused in TLS', async () => {
    const err = await rejectionOf(
      fromUrl(url(`&cacertfile=${q(node.files.ca)}&server_name_indication=${node.altName}`, 'rogue'), { connectTimeout: 10_000 }),
    );
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(0);
    // TLS 1.3: the node checks the client certificate after the client's handshake is done, so its alert arrives instead of connection.start.
    expect(((err as Error).cause as Error).message).toMatch(/alert (bad|unknown) (certificate|ca)/);
  });

  it('URL: cacertfile + certfile + keyfile + server_name_indication; name is the connection name', async () => {
    const base = url(`&cacertfile=${q(node.files.ca)}&server_name_indication=${node.altName}`);
    keep(await fromUrl(`${base}&name=from-url-a`));
    keep(await fromUrl(`${base}&name=from-url-b`, { connectionName: 'from-option' }));
    keep(await fromUrl(`${base}&name=from-url-c`, { clientProperties: { connection_name: 'from-props' } }));
    keep(await fromUrl(base, { clientProperties: { connection_name: 'from-props-d' } }));
    const rows = JSON.parse(await node.ctl('list_connections', 'user', 'client_properties', '--formatter', 'json', '-q')) as Array<{
      user: string;
      client_properties: Array<[string, string, unknown]>;
    }>;
    const names = rows.map((r) => r.client_properties.find(([k]) => k === 'connection_name')?.[2]).sort();
    expect(names).toEqual(['from-option', 'from-props-d', 'from-url-a', 'from-url-c']);
    expect(new Set(rows.map((r) => r.user))).toEqual(new Set([node.user]));
    await closeAll();
  });

  it('server_name_indication is the name the certificate is checked against', async () => {
    // The server certificate names localhost and the alt name, not 127.0.0.1.
    const noSni = await rejectionOf(fromUrl(url(`&cacertfile=${q(node.files.ca)}`)));
    expect(noSni).toBeInstanceOf(AmqpClosedConnection);
    expect(((noSni as Error).cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');

    const wrong = await rejectionOf(
      fromUrl(url(`&cacertfile=${q(node.files.ca)}&server_name_indication=wrong.example`).replace('127.0.0.1', 'localhost')),
    );
    expect(((wrong as Error).cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(((wrong as Error).cause as Error).message).toContain('wrong.example');

    const [t, p] = keep(await fromUrl(url(`&cacertfile=${q(node.files.ca)}&server_name_indication=${node.altName}`)));
    expect(p.state).toBe('open');
    expect((t.socket as import('node:tls').TLSSocket).authorized).toBe(true);
    await closeAll();
  });

  it('verify: verify_peer needs the CA (cacertfile); verify_none connects without it', async () => {
    const unverified = await rejectionOf(fromUrl(url(`&verify=verify_peer&server_name_indication=${node.altName}`)));
    expect(unverified).toBeInstanceOf(AmqpClosedConnection);
    expect(((unverified as Error).cause as NodeJS.ErrnoException).code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);

    // verify_none: neither the unknown CA nor the name (127.0.0.1 is not in the certificate) stops it.
    const [t, p] = keep(await fromUrl(url('&verify=verify_none')));
    expect(p.state).toBe('open');
    expect((t.socket as import('node:tls').TLSSocket).authorized).toBe(false);
    // An option passed to fromUrl overrides the URL's verify.
    const strict = await rejectionOf(fromUrl(url('&verify=verify_none'), { verifySsl: true }));
    expect(strict).toBeInstanceOf(AmqpClosedConnection);
    await closeAll();
  });
});
