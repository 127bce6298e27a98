// ChannelHost: what a channel needs of its connection. An interface apart
// from both, so that the channel does not import the connection (which
// creates channels) and the two stay free of an import cycle.

import type { AmqpClosedConnection } from './errors.js';
import type { AckFrames } from './framing/ack-frames.js';
import type { FrameWriter } from './framing/frame-writer.js';
import type { HoldOwner } from './held-publishes.js';
import type { ReadPauser } from './read-pause.js';
import type { TopologyRecorder } from './recovery/topology.js';
import type { RemoteAddress } from './tracing.js';

export interface ChannelHost {
  /** The connection's state: channels take calls while it is 'open' (and hold them while 'recovering'). */
  readonly state: string;
  /** A link is up with its handshake done (also while recovery replays). */
  readonly linkUp: boolean;
  /** What the user declared, when recovery replays topology; else null. */
  readonly topology: TopologyRecorder | null;
  /** The error that ended the connection; null while it is up. */
  readonly closeError: AmqpClosedConnection | null;
  /** The broker's reason while it blocks publishing, else null. */
  readonly blocked: string | null;
  /** The frame writer every channel writes through. */
  readonly fw: FrameWriter;
  /** The ack fast path over `fw`. */
  readonly ackFrames: AckFrames;
  /**
   * Hold a publish of `bytes` on `owner` (its channel) until the connection
   * is unblocked and recovered and the channel's flow is active; throws
   * `PublishBufferFull` past maxHeldBytes (one budget per connection).
   */
  holdPublish(bytes: number, run: () => void, fail: (err: Error) => void, owner: HoldOwner): void;
  /** A held publish gave up waiting (its timeout or signal): it is never sent. */
  dropHeld(run: () => void): void;
  /** Run the held publishes nothing holds any more (a channel's flow became active). */
  releaseHeld(): void;
  /** Fail the publishes held for `owner`, whose channel ended. */
  failHeld(owner: HoldOwner, err: Error): void;
  /** The user asked the connection to end (close() or transport.close()). */
  readonly userClosed: boolean;
  /** Stop reading the socket while a consumer holds too much (never while a channel awaits the broker). */
  readonly reads: ReadPauser;
  /** Hand an error to the connection's onError; never throws. */
  report(err: unknown): void;
  /** The socket's remote address (the last link's while none is up): tracing contexts. */
  readonly remote: RemoteAddress;
  /** The channel is finished with its id. */
  releaseChannel(ch: { readonly channelId: number }): void;
}
