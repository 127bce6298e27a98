// The test broker: its URL, unique names, a connection fixture that records
// onError calls and always closes, and rabbitmqctl (local broker only) with
// the look-ups built on it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { sleep } from './async.js';
import { fromUrl, parseUrl, type AmqpProtocol, type Channel, type CloseOptions, type ConnectOptions, type Transport } from '../../src/index.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const parsed = parseUrl(AMQP_URL);
export const BROKER_HOST = parsed.host ?? 'localhost';
export const BROKER_PORT = parsed.port ?? 5672;
/** rabbitmqctl can only drive a broker on this machine. */
export const LOCAL_BROKER = ['localhost', '127.0.0.1', '::1'].includes(BROKER_HOST);
/** The memory high watermark to restore after a test that raised a memory alarm. */
export const WATERMARK = process.env.RABBITMQ_MEMORY_WATERMARK ?? '0.4';

/** A name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `amqp091-test.${prefix}.${randomBytes(6).toString('hex')}`;
}

export interface Session {
  transport: Transport;
  protocol: AmqpProtocol;
  channel: Channel;
  /** Everything onError received. */
  errors: Error[];
  close(): Promise<void>;
}

/** Connect (with onError recording) and open one channel. */
export async function openSession(options: ConnectOptions = {}): Promise<Session> {
  const errors: Error[] = [];
  const [transport, protocol] = await fromUrl(AMQP_URL, { onError: (e) => void errors.push(e), ...options });
  const channel = await protocol.channel();
  return {
    transport,
    protocol,
    channel,
    errors,
    // Cleanup: a test may have ended the connection itself.
    async close() {
      await closeIfOpen(protocol);
      transport.close();
    },
  };
}

/**
 * Cleanup: close `p` unless it has already ended (by the test, the broker or
 * a lost link). A close() on an ended connection rejects with its close error
 * (API.md); cleanup does not care about that, a test that does asserts it.
 */
export async function closeIfOpen(p: AmqpProtocol | undefined, o?: CloseOptions): Promise<void> {
  if (p !== undefined && p.state !== 'closed') await p.close(o);
}

const execFileP = promisify(execFile);

/** Run rabbitmqctl (local broker only). */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

/** The broker's pid for the connection that sent `connection_name` = name (rabbitmqctl). */
export async function connectionPid(name: string, timeout = 10_000): Promise<string> {
  const until = Date.now() + timeout;
  for (;;) {
    const listing = await rabbitmqctl('list_connections', 'pid', 'client_properties', '-q', '--no-table-headers');
    const line = listing.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
    if (line !== undefined) return line.split('\t')[0]!;
    if (Date.now() > until) throw new Error(`connection '${name}' not found on the broker`);
    await sleep(200);
  }
}

/** How many channels the broker has open on the named connection. */
export async function brokerChannelCount(name: string): Promise<number> {
  const listing = await rabbitmqctl('list_connections', 'channels', 'client_properties', '-q', '--no-table-headers');
  const line = listing.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
  if (line === undefined) throw new Error(`connection '${name}' not found on the broker`);
  return Number(line.split('\t')[0]);
}
