// Running the `amqp091` CLI as a child process (through tsx, from src/)
// against the test broker, and looking at queues with the library itself.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromUrl, type Channel } from '../../src/index.js';
import { AMQP_URL } from '../support/broker.js';

export { AMQP_URL };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'src/cli/main.ts');

/** Child processes are slow on a busy 2-core machine. */
export const CLI_TIMEOUT = 60_000;

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CliOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  /** Called once the process is running (e.g. to signal it). */
  started?: (child: ReturnType<typeof spawn>) => void;
}

/** Run `amqp091 ...args` with AMQP_URL pointing at the test broker. */
export function cli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      env: { ...process.env, AMQP_URL, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ status, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
    o.started?.(child);
  });
}

/** A queue name no other test uses. */
export function uniqueName(prefix: string): string {
  return `amqp091-test.cli-${prefix}.${randomBytes(6).toString('hex')}`;
}

/** Run `work` on a fresh channel of a fresh connection, then close it. */
export async function withBroker<T>(work: (ch: Channel) => Promise<T>): Promise<T> {
  const [transport, protocol] = await fromUrl(AMQP_URL);
  try {
    return await work(await protocol.channel());
  } finally {
    await protocol.close().catch(() => undefined);
    transport.close();
  }
}

/** Messages ready in `queue` (passive declare). */
export function messageCount(queue: string): Promise<number> {
  return withBroker(async (ch) => (await ch.queueDeclare(queue, { passive: true })).messageCount);
}

/** Delete queues and exchanges, ignoring the ones already gone. */
export async function cleanUp(queues: string[], exchanges: string[] = []): Promise<void> {
  // A failed delete closes its channel: one connection each keeps it simple.
  for (const q of queues) await withBroker((ch) => ch.queueDelete(q)).catch(() => undefined);
  for (const e of exchanges) await withBroker((ch) => ch.exchangeDelete(e)).catch(() => undefined);
}
