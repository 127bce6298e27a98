// Shared helpers for the integration tests: the broker URL, unique names,
// and a connection fixture that records onError calls and always closes.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { fromUrl, parseUrl, type AmqpProtocol, type Channel, type CloseOptions, type ConnectOptions, type Transport } from '../../src/index.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const parsed = parseUrl(AMQP_URL);
export const BROKER_HOST = parsed.host ?? 'localhost';
export const BROKER_PORT = parsed.port ?? 5672;
/** rabbitmqctl can only drive a broker on this machine. */
export const LOCAL_BROKER = ['localhost', '127.0.0.1', '::1'].includes(BROKER_HOST);

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

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `cond` until true (every 20 ms), failing after `timeout` ms. */
export async function waitFor(cond: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The rejection of `p` (fails when it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

const execFileP = promisify(execFile);

/** Run rabbitmqctl (local broker only). */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

/** Count of libuv handles of the kinds a connection uses. */
export function liveHandles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length,
    timers: info.filter((r) => r === 'Timeout' || r === 'Immediate').length,
  };
}
