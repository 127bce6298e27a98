// The three-node cluster is real and usable: the library talks to every node,
// a quorum queue declared on one node is published to with confirms through
// another and consumed through a third, keeps its confirmed messages when its
// leader leaves (stop_app) or is killed (kill -9, then started again), and
// close_connections reaches every node.
// Run with `npm run test:cluster` (which brings the cluster up and down).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AmqpProtocol, type Channel, type Transport } from '../../src/index.js';
import { uniqueName } from '../support/broker.js';
import { waitFor } from '../support/async.js';
import {
  CLUSTER_HOSTS,
  CLUSTER_NODES,
  clusterConnectOptions,
  clusterCtl,
  clusterStatus,
  closeConnections,
  killNode,
  startNode,
  connections,
  startApp,
  stopApp,
  type ClusterNode,
} from '../support/cluster.js';

interface NodeSession {
  node: ClusterNode;
  transport: Transport;
  protocol: AmqpProtocol;
  channel: Channel;
  errors: Error[];
}

const open: NodeSession[] = [];

async function openOn(node: ClusterNode): Promise<NodeSession> {
  const errors: Error[] = [];
  const [transport, protocol] = await connect({ ...clusterConnectOptions(node), onError: (e) => void errors.push(e) });
  const channel = await protocol.channel();
  const s = { node, transport, protocol, channel, errors };
  open.push(s);
  return s;
}

async function closeAll(): Promise<void> {
  for (const s of open.splice(0)) {
    if (s.protocol.state === 'open') await s.protocol.close().catch(() => undefined);
    s.transport.close();
  }
}

/** Publish `count` messages `prefix-0..` with confirms; every publish must be acked. */
async function publishConfirmed(ch: Channel, queue: string, prefix: string, count: number): Promise<void> {
  await ch.confirmSelect();
  await Promise.all(Array.from({ length: count }, (_, i) => ch.publish(`${prefix}-${i}`, '', queue, { deliveryMode: 2 })));
}

/** Consume (manual acks) until `count` messages arrived; resolves with their bodies in order. */
async function consume(ch: Channel, queue: string, count: number): Promise<string[]> {
  const got: string[] = [];
  await ch.basicQos({ prefetchCount: 50 });
  const { consumerTag } = await ch.basicConsume(
    async (c, body, envelope) => {
      got.push(body.toString());
      c.basicClientAck(envelope.deliveryTag);
    },
    { queueName: queue },
  );
  await waitFor(() => got.length >= count, 30_000, `${count} messages from ${queue}`);
  await ch.basicCancel(consumerTag);
  return got;
}

/** The node that leads quorum queue `queue` (from `rabbitmqctl list_queues name leader`). */
async function leaderOf(queue: string, askNode: ClusterNode): Promise<ClusterNode> {
  const out = await clusterCtl(askNode, 'list_queues', '--no-table-headers', 'name', 'leader');
  const line = out.split('\n').find((l) => l.split('\t')[0] === queue);
  const m = /^c([123])@localhost$/.exec(line?.split('\t')[1]?.trim() ?? '');
  if (!m) throw new Error(`no leader for ${queue} in:\n${out}`);
  return Number(m[1]) as ClusterNode;
}

describe('three-node cluster', () => {
  beforeAll(async () => {
    // test/run-cluster.sh (npm run test:cluster) has brought the cluster up; a
    // bare `vitest run` must not start three nodes it would never stop.
    const { healthy, text } = await clusterStatus();
    if (!healthy) throw new Error(`the cluster is not up: run \`npm run test:cluster\` (or \`bash test/support/cluster.sh up\` first)\n${text}`);
  });

  afterEach(async () => {
    await closeAll();
  });

  afterAll(async () => {
    await closeAll();
    // Whatever a test did, leave the cluster whole for the next file.
    const { healthy, text } = await clusterStatus();
    if (!healthy) {
      for (const n of CLUSTER_NODES) await startApp(n).catch(() => undefined);
      expect((await clusterStatus()).healthy, text).toBe(true);
    }
  });

  it('CLUSTER_HOSTS are the three nodes on 127.0.0.1:5673-5675, each one cluster member', async () => {
    expect(CLUSTER_HOSTS).toEqual(['127.0.0.1:5673', '127.0.0.1:5674', '127.0.0.1:5675']);
    const sessions = await Promise.all(CLUSTER_NODES.map((n) => openOn(n)));
    for (const s of sessions) {
      expect(s.protocol.state).toBe('open');
      expect(s.transport.socket.remotePort).toBe(5672 + s.node);
      // The node itself lists our socket among its client connections.
      const peerPorts = (await connections(s.node)).map((row) => Number(row[1]));
      expect(peerPorts).toContain(s.transport.socket.localPort);
    }
    const members = await clusterCtl(1, 'eval', 'lists:sort(rabbit_nodes:all_running()).');
    expect(members.trim()).toBe('[c1@localhost,c2@localhost,c3@localhost]');
  });

  it('a quorum queue declared on one node is published to with confirms on another and consumed on the third', async () => {
    const [s1, s2, s3] = await Promise.all([openOn(1), openOn(2), openOn(3)]);
    const queue = uniqueName('cluster-quorum');
    try {
      const declared = await s1.channel.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      expect(declared).toMatchObject({ queue, messageCount: 0, consumerCount: 0 });
      // A quorum queue with a member on each of the three nodes.
      const listed = await clusterCtl(2, 'list_queues', '--no-table-headers', 'name', 'type', 'members');
      const row = listed.split('\n').find((l) => l.startsWith(`${queue}\t`));
      expect(row?.split('\t')[1]).toBe('quorum');
      const members = (row?.split('\t')[2] ?? '').replace(/[[\]\s]/g, '').split(',').sort();
      expect(members).toEqual(['c1@localhost', 'c2@localhost', 'c3@localhost']);
      await publishConfirmed(s2.channel, queue, 'm', 200);
      const got = await consume(s3.channel, queue, 200);
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `m-${i}`));
      expect((await s1.channel.queueDeclare(queue, { passive: true })).messageCount).toBe(0);
    } finally {
      await s1.channel.queueDelete(queue).catch(() => undefined);
    }
    for (const s of [s1, s2, s3]) expect(s.errors).toEqual([]);
  });

  it('confirmed messages survive stop_app of the queue leader; the queue keeps working through another node', async () => {
    const setup = await openOn(1);
    const queue = uniqueName('cluster-failover');
    await setup.channel.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    try {
      await publishConfirmed(setup.channel, queue, 'before', 300);
      const leader = await leaderOf(queue, 1);
      const others = CLUSTER_NODES.filter((n) => n !== leader);
      const [a, b] = [others[0]!, others[1]!];
      await closeAll(); // the connection to the leader's node would be closed under us
      await stopApp(leader);
      try {
        const sa = await openOn(a);
        const sb = await openOn(b);
        // A new leader is elected among the two left; the queue answers and still has all 300.
        let count = -1;
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          count = (await sa.channel.queueDeclare(queue, { passive: true })).messageCount;
          if (count === 300) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(count).toBe(300);
        expect(await leaderOf(queue, a)).not.toBe(leader);
        await publishConfirmed(sa.channel, queue, 'during', 100);
        const got = await consume(sb.channel, queue, 400);
        expect(got).toEqual([
          ...Array.from({ length: 300 }, (_, i) => `before-${i}`),
          ...Array.from({ length: 100 }, (_, i) => `during-${i}`),
        ]);
        expect(sa.errors).toEqual([]);
        expect(sb.errors).toEqual([]);
      } finally {
        await closeAll();
        await startApp(leader);
      }
      // Back to three running members, and the node that left serves the queue again.
      const back = await openOn(leader);
      expect((await back.channel.queueDeclare(queue, { passive: true })).messageCount).toBe(0);
    } finally {
      const cleanup = await openOn(1);
      await cleanup.channel.queueDelete(queue).catch(() => undefined);
    }
  });

  it('a node killed with kill -9 is restarted and rejoins; the quorum queue keeps its confirmed messages meanwhile', async () => {
    const setup = await openOn(1);
    const queue = uniqueName('cluster-kill');
    await setup.channel.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    try {
      await publishConfirmed(setup.channel, queue, 'k', 100);
      const victim = await leaderOf(queue, 1);
      const other = CLUSTER_NODES.find((n) => n !== victim)!;
      const onVictim = await openOn(victim);
      await killNode(victim);
      try {
        // The socket to the killed node ends without a close handshake.
        await onVictim.protocol.waitClosed(30_000);
        const s = await openOn(other);
        let count = -1;
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          count = (await s.channel.queueDeclare(queue, { passive: true })).messageCount;
          if (count === 100) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(count).toBe(100);
      } finally {
        await closeAll();
        await startNode(victim);
      }
      expect((await clusterStatus()).healthy).toBe(true);
      const back = await openOn(victim);
      expect((await back.channel.queueDeclare(queue, { passive: true })).messageCount).toBe(100);
    } finally {
      const cleanup = await openOn(1);
      await cleanup.channel.queueDelete(queue).catch(() => undefined);
    }
  });

  it('close_connections reaches the connections on every node', async () => {
    const sessions = await Promise.all(CLUSTER_NODES.map((n) => openOn(n)));
    const closed = await closeConnections('all', 'cluster smoke test');
    expect(closed).toBeGreaterThanOrEqual(3);
    for (const s of sessions) {
      await s.protocol.waitClosed(10_000);
      expect(s.protocol.state).toBe('closed');
      expect(s.errors.map((e) => e.message).join('\n')).toContain('cluster smoke test');
    }
  });
});
