import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sleep } from '../../support/async.js';
import { startProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { handleCounts, leakedSince } from '../../support/leaks.js';

// A local echo server (no broker involved) that records what it received.
interface Echo {
  port: number;
  received: number;
  sockets: Set<net.Socket>;
  serverErrors: string[];
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const sockets = new Set<net.Socket>();
  const echo: Echo = {
    port: 0,
    received: 0,
    sockets,
    serverErrors: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', (err: NodeJS.ErrnoException) => echo.serverErrors.push(err.code ?? err.message));
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => {
      echo.received += d.length;
      s.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  echo.port = addr.port;
  return echo;
}

function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Reads exactly n bytes from the socket (rejects on timeout or close). */
function readBytes(s: net.Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const cleanup = (): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
    };
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(chunks).subarray(0, n));
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`socket closed after ${got}/${n} bytes`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timeout after ${got}/${n} bytes`));
    }, timeoutMs);
    s.on('data', onData);
    s.on('close', onClose);
  });
}


describe('tcp-proxy', () => {
  let echo: Echo;
  let proxy: TcpProxy;
  let clients: net.Socket[];
  let baseline: Map<string, number>;

  beforeEach(async () => {
    baseline = handleCounts();
    echo = await startEcho();
    proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: echo.port });
    clients = [];
  });

  afterEach(async () => {
    for (const c of clients) c.destroy();
    await sleep(10); // the test's own client sockets
    await proxy.close();
    await echo.close();
    await sleep(0);
    // close() resolved: the proxy must not hold a socket, server or timer any more.
    expect(leakedSince(baseline)).toEqual([]);
  });

  async function client(): Promise<net.Socket> {
    const c = await connectTo(proxy.port);
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  test('passes bytes both ways', async () => {
    const c = await client();
    c.write('hello');
    expect((await readBytes(c, 5)).toString()).toBe('hello');
    expect(proxy.connections).toHaveLength(1);
    expect(proxy.connections[0]?.bytesUp).toBe(5);
    expect(proxy.connections[0]?.bytesDown).toBe(5);
    expect(proxy.accepted).toBe(1);
  });

  test('passes a large stream intact (back-pressure)', async () => {
    const c = await client();
    const data = randomBytes(8 * 1024 * 1024);
    const reading = readBytes(c, data.length, 15000);
    c.write(data);
    expect((await reading).equals(data)).toBe(true);
  });

  test('pause holds bytes in both directions and keeps sockets open; resume delivers them in order', async () => {
    const c = await client();
    c.write('a');
    expect((await readBytes(c, 1)).toString()).toBe('a');

    proxy.pause();
    expect(proxy.paused).toBe(true);
    c.write('bc');
    c.write('de');
    await expect(readBytes(c, 1, 300)).rejects.toThrow(/timeout/);
    expect(echo.received).toBe(1); // nothing reached the target
    expect(c.destroyed).toBe(false);
    expect(proxy.connections).toHaveLength(1);

    // Target → client is held too.
    const [serverSide] = [...echo.sockets];
    serverSide?.write('XY');
    await expect(readBytes(c, 1, 300)).rejects.toThrow(/timeout/);

    proxy.resume();
    // 'XY' (held downstream) comes first, then the echo of 'bcde'.
    expect((await readBytes(c, 6)).toString()).toBe('XYbcde');
    expect(echo.received).toBe(5);
  });

  test('a connection made while paused is accepted but silent until resume', async () => {
    proxy.pause();
    const c = await client();
    c.write('zz');
    await expect(readBytes(c, 1, 300)).rejects.toThrow(/timeout/);
    expect(echo.received).toBe(0);
    proxy.resume();
    expect((await readBytes(c, 2)).toString()).toBe('zz');
  });

  test('cut resets every connection on both sides; the proxy keeps listening', async () => {
    const c1 = await client();
    const c2 = await client();
    c1.write('1');
    c2.write('2');
    await readBytes(c1, 1);
    await readBytes(c2, 1);
    const errors: string[] = [];
    const closed = Promise.all(
      [c1, c2].map(
        (c) =>
          new Promise<void>((resolve) => {
            c.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
            c.on('close', () => resolve());
          }),
      ),
    );
    proxy.cut();
    await closed;
    expect(errors).toEqual(['ECONNRESET', 'ECONNRESET']);
    await sleep(50);
    expect(echo.sockets.size).toBe(0);
    expect(echo.serverErrors).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(proxy.connections).toHaveLength(0);

    const c3 = await client();
    c3.write('again');
    expect((await readBytes(c3, 5)).toString()).toBe('again');
  });

  test('cut while paused resets too', async () => {
    const c = await client();
    proxy.pause();
    c.write('held');
    const closed = new Promise<string | undefined>((resolve) => {
      let code: string | undefined;
      c.on('error', (err: NodeJS.ErrnoException) => (code = err.code));
      c.on('close', () => resolve(code));
    });
    proxy.cut();
    expect(await closed).toBe('ECONNRESET');
  });

  test('a client FIN is passed on and the pair closes cleanly', async () => {
    const c = await client();
    c.write('bye');
    await readBytes(c, 3);
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    c.end();
    await closed;
    await sleep(50);
    expect(proxy.connections).toHaveLength(0);
    expect(echo.sockets.size).toBe(0);
  });

  test('when the target refuses, the client is closed', async () => {
    const closedEcho = await startEcho();
    const port = closedEcho.port;
    await closedEcho.close();
    const p2 = await startProxy({ targetPort: port });
    try {
      const c = await connectTo(p2.port);
      c.on('error', () => {});
      await new Promise<void>((resolve) => c.on('close', () => resolve()));
      await sleep(50);
      expect(p2.connections).toHaveLength(0);
    } finally {
      await p2.close();
    }
  });

  test('close() with open (and paused) connections leaves no handles and closes the clients', async () => {
    const c = await client();
    c.write('x');
    await readBytes(c, 1);
    proxy.pause();
    c.write('y');
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    await proxy.close();
    await closed;
    // Closing twice is fine.
    await proxy.close();
    await expect(connectTo(proxy.port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
