// Connection options (API.md "Connecting"): their types, defaults, and the
// resolved form the protocol object works with.

import type { FieldTable } from './wire/index.js';

/** The SASL mechanism used to log in. */
export type LoginMethod = 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';
export const LOGIN_METHODS: readonly LoginMethod[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

/** Called for every connection-level error after the connection is up. */
export type ErrorCallback = (err: Error) => void | Promise<void>;

/** A password, or a function called before every connection attempt (initial and recovery) for a fresh one (a token). */
export type PasswordOption = string | (() => string | Promise<string>);

/** Options of the protocol object itself (everything but where to connect). */
export interface ProtocolOptions {
  /** User name (default 'guest'). */
  login?: string;
  /**
   * Password (default 'guest'), or a function returning one (or a promise of
   * one), called before every connection attempt, recovery included, so an
   * expiring token is fetched fresh. Never shown by inspection, JSON or
   * error messages.
   */
  password?: PasswordOption;
  /** Virtual host (default '/'). */
  virtualhost?: string;
  /** SASL mechanism (default 'PLAIN'). */
  loginMethod?: LoginMethod;
  /** The `insist` bit of connection.open (default false). */
  insist?: boolean;
  /** Called for every connection-level error after the connection is up; never throws into the caller. */
  onError?: ErrorCallback;
  /** Merged over the defaults (product, version, platform, capabilities). */
  clientProperties?: FieldTable;
  /** Sent as the `connection_name` client property (shown by the management UI). */
  connectionName?: string;
  /** Highest channel id the client proposes (1..65535); 0 means no limit. */
  channelMax?: number;
  /** Largest frame the client proposes (>= 4096); 0 means no limit. */
  frameMax?: number;
  /** Heartbeat interval in seconds; 0 disables; absent accepts the server's. */
  heartbeat?: number;
  /** Incoming bodies larger than this end the connection (501). Default 512 MiB. */
  maxBodySize?: number;
  /** Body bytes of publishes held while blocked or recovering; past it publish rejects `PublishBufferFull`. Default 64 MiB. */
  maxHeldBytes?: number;
}

/** Options of `AmqpProtocol.close()`. */
export interface CloseOptions {
  /** Send connection.close and end at once, without waiting for close-ok. */
  noWait?: boolean;
  /** Milliseconds to wait for close-ok before destroying the socket (default 2000). */
  timeout?: number;
}

export const DEFAULT_MAX_BODY_SIZE = 512 * 1024 * 1024;
export const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT = 30_000;
/** RabbitMQ's default frame-max; used when both sides say "no limit". */
export const UNLIMITED_FRAME_MAX = 131_072;
