// The connection's state and events (API.md "AmqpProtocol", "Recovery and
// clusters"): types only, shared by the connection's layers and its users.

import type { AmqpClosedConnection } from './errors.js';
import type { RecoveredInfo, RecoveringInfo } from './recovery/events.js';

/** 'connecting' → 'open' (⇄ 'recovering' with recovery on) → 'closing' → 'closed'. */
export type ConnectionState = 'connecting' | 'open' | 'recovering' | 'closing' | 'closed';

/** The events of `AmqpProtocol` (an EventEmitter that never emits 'error'). */
export interface AmqpProtocolEvents {
  /** The broker blocks publishing (connection.blocked, e.g. a memory alarm); publishes are held. */
  blocked: [reason: string];
  /** The broker unblocked the connection; held publishes go out. */
  unblocked: [];
  /** The link was lost without the user asking (recovery on or off). */
  disconnected: [err: AmqpClosedConnection];
  /** A recovery attempt begins (once per attempt, before its wait). */
  recovering: [info: RecoveringInfo];
  /** The link is back and the topology replayed. */
  recovered: [info: RecoveredInfo];
  /** Recovery gave up; the connection is closed with this error. */
  recoveryFailed: [err: AmqpClosedConnection];
}
