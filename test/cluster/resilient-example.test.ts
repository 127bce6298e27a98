// examples/resilient.ts runs against the cluster: its publisher and
// consumer ride out close_connections on every node mid-run and it reports
// 0 lost (exit status 0).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLUSTER_HOSTS, closeConnections } from '../support/cluster.js';
import { sleep, waitFor } from '../support/async.js';

describe('examples/resilient.ts', () => {
  it('keeps every confirmed message through close_connections on every node', async () => {
    const child = spawn('npx', ['tsx', 'examples/resilient.ts', '20'], {
      env: { ...process.env, AMQP_HOSTS: CLUSTER_HOSTS.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor(() => /^confirmed [1-9]/m.test(stdout), 60_000, 'the example to publish');
      // rabbitmqctl may list a new connection a moment late: try until it closed some.
      let closed = 0;
      for (let i = 0; i < 10 && closed === 0; i++) {
        closed = await closeConnections('all', 'example test');
        if (closed === 0) await sleep(1000);
      }
      expect(closed).toBeGreaterThan(0);
      const code = await exited;
      expect(stderr).toBe('');
      expect(stdout).toMatch(/publisher: recovered on 127\.0\.0\.1:\d+/);
      expect(stdout).toMatch(/^summary: confirmed [1-9]\d*, received \d+, republished \d+, lost 0$/m);
      expect(code).toBe(0);
    } finally {
      child.kill();
    }
  }, 240_000);
});
