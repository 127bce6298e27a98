// Token refresh: the password function (called before every connection
// attempt, recovery included) and updateSecret (connection.update-secret).
// Against the real broker, and against a scripted FakeBroker for a broker that
// refuses the new secret (RabbitMQ's internal user backend accepts any
// secret, so the refusal cannot be provoked on the local broker).
import { afterEach, describe, expect, it } from 'vitest';
import { AmqpClosedConnection, connect, type AmqpProtocol, type Transport } from '../../src/index.js';
import { FakeBroker, wire } from '../../src/testing/index.js';
import { startProxy } from '../support/tcp-proxy.js';
import { BROKER_HOST, BROKER_PORT } from '../support/broker.js';
import { rejectionOf } from '../support/async.js';

const { connectionClose } = wire;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track(t: Transport, p: AmqpProtocol): void {
  cleanups.push(async () => {
    if (p.state !== 'closed') await p.close();
    t.close();
  });
}

describe('token refresh', () => {
  it('the password function is called for the first connection and again for each recovery attempt', async () => {
    const proxy = await startProxy({ targetHost: BROKER_HOST, targetPort: BROKER_PORT });
    cleanups.push(() => proxy.close());
    let calls = 0;
    const [t, p] = await connect({
      host: '127.0.0.1',
      port: proxy.port,
      recovery: { initialDelay: 0, maxDelay: 10 },
      password: async () => {
        calls++;
        return 'guest';
      },
    });
    track(t, p);
    expect(calls).toBe(1);
    const recovered = new Promise((resolve) => p.once('recovered', resolve));
    proxy.cut();
    await recovered;
    expect(calls).toBe(2);
    await (await p.channel()).queueDeclare('', { exclusive: true });
  });

  it('a password function that throws rejects connect with AmqpClosedConnection whose cause is its error', async () => {
    const boom = new Error('token service down');
    const err = await rejectionOf(connect({ host: BROKER_HOST, port: BROKER_PORT, password: () => Promise.reject(boom) }));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).cause).toBe(boom);
  });

  it('updateSecret with the same password succeeds and the connection goes on', async () => {
    const [t, p] = await connect({ host: BROKER_HOST, port: BROKER_PORT });
    track(t, p);
    await p.updateSecret('guest', 'refresh', { timeout: 5000 });
    expect(p.state).toBe('open');
    await (await p.channel()).queueDeclare('', { exclusive: true });
    const aborted = new AbortController();
    aborted.abort();
    expect(await rejectionOf(p.updateSecret('guest', 'x', { signal: aborted.signal }))).toBe(aborted.signal.reason);
    expect(await rejectionOf(p.updateSecret(42 as never, 'x'))).toBeInstanceOf(TypeError);
  });

  it('a refused secret ends the connection as the broker does: the call rejects with its close, onError gets it too', async () => {
    const server = await FakeBroker.start({
      script: async (conn) => {
        await conn.handshake();
        await conn.expectMethod(10, 70); // update-secret
        await conn.send(connectionClose(530, 'NOT_ALLOWED - new secret refused', 10, 70));
        await conn.expectMethod(10, 51); // close-ok
      },
    });
    cleanups.push(() => server.close());
    const errors: Error[] = [];
    const [t, p] = await connect({ host: server.host, port: server.port, onError: (e) => void errors.push(e) });
    track(t, p);
    const err = await rejectionOf(p.updateSecret('bad token', 'refresh'));
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect((err as AmqpClosedConnection).code).toBe(530);
    expect(errors).toEqual([err]);
    expect(p.state).toBe('closed');
    await server.settled();
  });
});
