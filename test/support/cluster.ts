// Vitest helpers for the three-node cluster of test/support/cluster.sh
// (c1..c3@localhost on 127.0.0.1:5673-5675, guest/guest, vhost "/").
//
// Every helper runs the script and resolves once the script's own wait is
// over (a started node has rejoined, a killed one is gone); it rejects with
// the script's stderr when the script fails. Nodes are numbered 1, 2, 3.
//
// A test that injects a fault restores it in `finally` or afterAll:
//   await stopApp(2);
//   try { ... } finally { await startApp(2); }
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type ClusterNode = 1 | 2 | 3;

export const CLUSTER_NODES: readonly ClusterNode[] = [1, 2, 3];
export const CLUSTER_HOSTS: readonly string[] = ['127.0.0.1:5673', '127.0.0.1:5674', '127.0.0.1:5675'];

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cluster.sh');

/** Node n's AMQP port (5672 + n). */
export function clusterPort(n: ClusterNode): number {
  return 5672 + n;
}

/** Node n's Erlang node name. */
export function clusterNodeName(n: ClusterNode): string {
  return `c${n}@localhost`;
}

/** `amqp://guest:guest@127.0.0.1:567x/` for node n. */
export function clusterUrl(n: ClusterNode): string {
  return `amqp://guest:guest@127.0.0.1:${clusterPort(n)}/`;
}

/** Connect options for node n (spread into `connect({...})`). */
export function clusterConnectOptions(n: ClusterNode): { host: string; port: number; login: string; password: string } {
  return { host: '127.0.0.1', port: clusterPort(n), login: 'guest', password: 'guest' };
}

/** Run `cluster.sh ...args` and resolve with its stdout. */
export function cluster(args: readonly string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${timeoutMs} ms` : `exit ${String(err.code)}`;
        reject(new Error(`cluster.sh ${args.join(' ')}: ${why}\n${stderr.trim()}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Start whatever is not running, join, and wait until c1..c3 run as one cluster (idempotent). */
export async function clusterUp(): Promise<void> {
  await cluster(['up']);
}

/** Stop every node and remove the cluster's data directory. */
export async function clusterDown(): Promise<void> {
  await cluster(['down']);
}

/** `status` output (one line per node); never rejects. */
export async function clusterStatus(): Promise<{ healthy: boolean; text: string }> {
  try {
    return { healthy: true, text: await cluster(['status'], 120_000) };
  } catch (err) {
    return { healthy: false, text: (err as Error).message };
  }
}

/** `rabbitmqctl stop_app` on node n: it leaves the cluster, its VM stays up. */
export async function stopApp(n: ClusterNode): Promise<void> {
  await cluster(['stop_app', String(n)]);
}

/** `rabbitmqctl start_app` on node n; resolves once it has rejoined and accepts AMQP. */
export async function startApp(n: ClusterNode): Promise<void> {
  await cluster(['start_app', String(n)]);
}

/** kill -9 node n's Erlang VM; resolves once the process is gone. */
export async function killNode(n: ClusterNode): Promise<void> {
  await cluster(['kill', String(n)]);
}

/** Start node n again (after killNode); resolves once it has rejoined and accepts AMQP. */
export async function startNode(n: ClusterNode): Promise<void> {
  await cluster(['start', String(n)]);
}

/**
 * Close every client connection on node n, or on every node with 'all' (one
 * call, so all of them go at nearly the same moment). Resolves with how many
 * connections were closed.
 */
export async function closeConnections(n: ClusterNode | 'all', reason = 'closed by a cluster test'): Promise<number> {
  const out = await cluster(['close_connections', String(n), reason]);
  return Number.parseInt(out.trim(), 10) || 0;
}

/** Client connections on node n: one `[name, peerPort, user]` per connection. */
export async function connections(n: ClusterNode): Promise<string[][]> {
  const out = await cluster(['connections', String(n)], 120_000);
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
}

/** `rabbitmqctl -n cN@localhost ...args` with the cluster's cookie. */
export async function clusterCtl(n: ClusterNode, ...args: string[]): Promise<string> {
  return cluster(['ctl', String(n), ...args], 120_000);
}
