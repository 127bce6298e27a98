// One connection to the broker for the length of a command: opened from the
// URL, watched for connection-level errors (which end the command), and
// closed exactly once.

import { fromUrl, type AmqpProtocol, type Channel, type Transport } from '../index.js';
import { UsageError } from './command.js';

export class Session {
  /** Rejects with the first error the connection reports after it is up (never unhandled). */
  readonly failed: Promise<never>;
  private fail!: (err: unknown) => void;
  private closed = false;
  private transport!: Transport;
  private protocol!: AmqpProtocol;

  private constructor() {
    this.failed = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    this.failed.catch(() => undefined);
  }

  /** Connect to `url`. A URL that does not parse is a usage error. */
  static async open(url: string): Promise<Session> {
    const s = new Session();
    let connecting;
    try {
      connecting = fromUrl(url, { onError: (err) => s.fail(err) });
    } catch (err) {
      throw err instanceof TypeError ? new UsageError(`--url: ${err.message}`) : err;
    }
    try {
      [s.transport, s.protocol] = await connecting;
    } catch (err) {
      if (err instanceof TypeError) throw new UsageError(`--url: ${err.message}`);
      throw err;
    }
    return s;
  }

  channel(): Promise<Channel> {
    return this.protocol.channel();
  }

  /** `work`, unless the connection fails first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.failed]);
  }

  /** Close the connection (quietly if it is already gone). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.protocol.state === 'open') await this.protocol.close({ timeout: 2000 });
    } catch {
      // already closed by the broker or the socket: nothing left to do
    } finally {
      this.transport.close();
    }
  }
}

/** Open a session, run `work` with one channel, and always close. */
export async function withChannel<T>(url: string, work: (ch: Channel, session: Session) => Promise<T>): Promise<T> {
  const session = await Session.open(url);
  try {
    const ch = await session.race(session.channel());
    return await session.race(work(ch, session));
  } finally {
    await session.close();
  }
}
