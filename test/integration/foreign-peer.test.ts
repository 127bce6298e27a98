// connect() to something that is not an AMQP 0-9-1 broker: FrameError 501
// whose message says what the peer is. The HTTP and TLS peers are real
// servers (node:http, node:tls), not scripted bytes.

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, connect, FrameError } from '../../src/index.js';
import { FakeBroker } from '../../src/testing/index.js';
import { testCertificates } from '../support/tls-proxy.js';

let server: Server | HttpServer | undefined;
let fake: FakeBroker | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
  await fake?.close();
  fake = undefined;
});

async function listen(s: Server | HttpServer): Promise<number> {
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

async function connectError(port: number): Promise<FrameError> {
  const err = await connect({ host: '127.0.0.1', port, connectTimeout: 10_000 }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FrameError);
  expect((err as FrameError).code).toBe(501);
  return err as FrameError;
}

describe('a peer that is not an AMQP 0-9-1 broker', () => {
  it('an HTTP server: "the peer speaks HTTP, not AMQP — wrong port?"', async () => {
    const port = await listen(createHttpServer((_req, res) => res.end('hello')));
    const err = await connectError(port);
    expect(err.message).toMatch(/the peer speaks HTTP, not AMQP — wrong port\? RabbitMQ's management UI is on 15672/);
  });

  it('a TLS server that answers with an alert record: "use amqps://"', async () => {
    // A fatal protocol_version alert, as TLS servers send to a peer that is not speaking TLS.
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.send(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
        await c.closed;
      },
    });
    const err = await connectError(fake.port);
    expect(err.message).toMatch(/the peer expects TLS; use amqps:\/\/ or the `ssl` option/);
  });

  it('a TLS server that closes without a word (node:tls): the close says it may be a TLS port', async () => {
    const certs = testCertificates();
    const port = await listen(createTlsServer({ key: certs.serverKey, cert: certs.serverCert }, (s) => s.end()));
    const err = await connect({ host: '127.0.0.1', port, connectTimeout: 10_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(0);
    expect((err as Error).message).toMatch(/before connection\.start \(a TLS port\? then use amqps:\/\/ or the `ssl` option\)/);
  });

  it('an AMQP 1.0 peer: names the version it offered', async () => {
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]));
        await c.closed;
      },
    });
    const err = await connectError(fake.port);
    expect(err.message).toMatch(/its protocol header offered AMQP 1\.0\b/);
  });

  it('anything else: its first bytes in hex', async () => {
    fake = await FakeBroker.start({
      script: async (c) => {
        await c.send('220 smtp.example.com ESMTP ready\r\n');
        await c.closed;
      },
    });
    const err = await connectError(fake.port);
    expect(err.message).toMatch(/its first bytes are 32 32 30 20 73 6d 74 70/);
  });
});
