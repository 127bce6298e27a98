// Link.write: chunks go out in order, and `written` runs once the socket
// no longer holds them (the FrameWriter then reuses their slabs).

import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Link } from '../../../src/link.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A connected client socket and the server side, which starts paused. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const srv = net.createServer({ pauseOnConnect: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  const accepted = once(srv, 'connection');
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [server] = (await accepted) as [net.Socket];
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    srv.close();
  });
  return { client, server };
}

describe('Link.write', () => {
  it('writes a batch in order, below the mark, and calls written once', async () => {
    const { client, server } = await pair();
    const link = new Link(client, { onData: () => undefined, onDrain: () => undefined, onClosed: () => undefined });
    let written = 0;
    expect(link.write([Buffer.from('ab'), Buffer.from('cd')], () => written++)).toBe(true);
    server.resume();
    const [data] = (await once(server, 'data')) as [Buffer];
    expect(data.toString()).toBe('abcd');
    await new Promise((r) => setImmediate(r));
    expect(written).toBe(1);
  });

  it('does not call written for a write the socket failed', async () => {
    const { client } = await pair();
    const link = new Link(client, { onData: () => undefined, onDrain: () => undefined, onClosed: () => undefined });
    let written = 0;
    client.destroy();
    await once(client, 'close');
    expect(link.write([Buffer.from('x')], () => written++)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(written).toBe(0);
  });
});
