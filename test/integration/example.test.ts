// examples/hello-world.ts runs against the broker and the process exits by
// itself (nothing left open after close()).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AMQP_URL } from '../support/broker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('examples/hello-world.ts', () => {
  it('declares, publishes, consumes, prints and exits on its own', async () => {
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    const { stdout, stderr } = await promisify(execFile)(tsx, ['examples/hello-world.ts'], {
      cwd: root,
      timeout: 20_000,
      env: { ...process.env, AMQP_URL },
    });
    expect(stdout.trim()).toBe('received: Hello World!');
    expect(stderr).toBe('');
  }, 30_000);
});
