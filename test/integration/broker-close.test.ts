// The real broker closing our connection (rabbitmqctl close_connection: 320).
import { describe, expect, it } from 'vitest';
import { AmqpClosedConnection } from '../../src/index.js';
import { LOCAL_BROKER, openSession, rabbitmqctl } from '../support/broker.js';
import { rejectionOf } from '../support/async.js';

describe.skipIf(!LOCAL_BROKER)('connection closed by the broker', () => {
  it('reports CONNECTION_FORCED (320) to onError once and fails later calls with the same error', async () => {
    const s = await openSession();
    const sock = s.transport.socket;
    const name = `${sock.localAddress}:${sock.localPort} -> ${sock.remoteAddress}:${sock.remotePort}`;
    const listing = await rabbitmqctl('list_connections', 'pid', 'name', '-q', '--no-table-headers');
    const line = listing.split('\n').find((l) => l.endsWith(`\t${name}`));
    expect(line).toBeDefined();
    await rabbitmqctl('close_connection', line!.split('\t')[0]!, 'amqp091 test says bye');
    await s.protocol.waitClosed(10_000);
    expect(s.errors).toHaveLength(1);
    const err = s.errors[0] as AmqpClosedConnection;
    expect(err).toBeInstanceOf(AmqpClosedConnection);
    expect(err.code).toBe(320);
    expect(err.replyText).toMatch(/amqp091 test says bye/);
    expect(await rejectionOf(s.channel.queueDeclare(''))).toBe(err);
    expect(s.protocol.closeError).toBe(err);
    await s.close();
    expect(s.errors).toHaveLength(1);
  }, 30_000);
});
