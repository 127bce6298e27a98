// The error classes of the public API (API.md "Errors"). Every error the
// library raises is one of these, so callers can branch on `instanceof`.
//
// This module is a leaf: every layer (wire, framing, core) may import it,
// and it imports nothing of theirs. (The generated reply-code constants it
// reads are a leaf too.) `MessageReturned`, which carries message
// properties, lives in message-returned.ts for that reason.

import { HARD_ERRORS, SOFT_ERRORS } from '../generated/constants.js';

/** Details of a close: the reply code and text, and which method caused it. */
export interface CloseDetails {
  /** Reply code; 0 when the close did not come from a close method. */
  code?: number;
  /** The reply text, e.g. "NOT_FOUND - no queue 'q' in vhost '/'". */
  replyText?: string;
  /** Class id of the method that caused the close (0 when none). */
  classId?: number;
  /** Method id of the method that caused the close (0 when none). */
  methodId?: number;
  /** The spec name of the method that caused the close, e.g. 'queue.declare'. */
  methodName?: string;
  /** The underlying error, e.g. the socket or TLS error. */
  cause?: unknown;
}

/** Base class of every error this library raises (aioamqp's AioamqpException). */
export class AmqpError extends Error {
  /** The class name, e.g. 'ChannelClosed'. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** "soft error" (the broker closes a channel), "hard error" (it closes the connection), or '' for other codes. */
export function replyCodeKind(code: number): string {
  if (SOFT_ERRORS.has(code)) return 'soft error';
  if (HARD_ERRORS.has(code)) return 'hard error';
  return '';
}

function describeClose(what: string, d: CloseDetails): string {
  const code = d.code ?? 0;
  const text = d.replyText ?? '';
  const notes: string[] = [];
  if (d.methodName !== undefined) notes.push(`in reply to ${d.methodName}`);
  else if (d.classId) notes.push(`class ${d.classId}, method ${d.methodId ?? 0}`);
  const kind = replyCodeKind(code);
  if (kind !== '') notes.push(kind);
  return `${what}: ${code}${text ? ` ${text}` : ''}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

/** Fields shared by the two close errors. */
interface Closed {
  readonly code: number;
  readonly replyText: string;
  readonly classId: number;
  readonly methodId: number;
  /** Whether retrying (after reconnecting) may succeed: a lost link, a forced close (320). */
  readonly retriable: boolean;
}

function closeFields(target: Closed, d: CloseDetails, retriable: boolean): void {
  Object.assign(target, {
    code: d.code ?? 0,
    replyText: d.replyText ?? '',
    classId: d.classId ?? 0,
    methodId: d.methodId ?? 0,
    retriable,
  });
}

/** A lost link (code 0) or a forced close (320) may be cured by retrying. */
/** Codes a broker uses when it found our bytes or method order wrong: reconnecting would not help. */
export function isProtocolErrorCode(code: number): boolean {
  return (code >= 501 && code <= 505) || code === 540;
}

function isRetriable(code: number): boolean {
  return code === 0 || code === 320;
}

/**
 * The connection is gone: closed by the broker (a hard error such as 320
 * or 530), by the socket, by missed heartbeats, or by the user.
 */
export class AmqpClosedConnection extends AmqpError implements Closed {
  /** The reply code, e.g. 320 or 530; 0 when the close did not come from a close method (e.g. a dropped socket). */
  declare readonly code: number;
  /** The reply text (or what ended the connection, when `code` is 0). */
  declare readonly replyText: string;
  /** Class id of the method that caused the close (0 when none). */
  declare readonly classId: number;
  /** Method id of the method that caused the close (0 when none). */
  declare readonly methodId: number;
  /** Whether retrying (after reconnecting) may succeed: a lost link, a forced close (320). */
  declare readonly retriable: boolean;
  /** On the initial connect's rejection with several hosts: every host's error in order, this one last. */
  declare errors?: readonly AmqpClosedConnection[];

  constructor(details: CloseDetails = {}, what = 'connection closed', retriable = isRetriable(details.code ?? 0)) {
    super(describeClose(what, details), details.cause === undefined ? undefined : { cause: details.cause });
    closeFields(this, details, retriable);
  }
}

/**
 * The peer broke the protocol, and the client ends the connection with
 * `code`: its bytes are not valid frames (501 frame error, 502 syntax
 * error), or valid frames break the protocol's rules (503 command invalid,
 * 504 channel error, 505 unexpected frame, 530 an unacceptable tuning).
 * The message says what was wrong; the close the client sends carries the
 * code.
 */
export class FrameError extends AmqpClosedConnection {
  constructor(replyText: string, code = 501, cause?: unknown) {
    super({ code, replyText, cause }, 'protocol violation by the peer', false);
  }
}

/** The broker answered a call with a method that is not one of its replies (closes the connection with 503). */
export class SynchronizationError extends AmqpClosedConnection {
  constructor(replyText: string) {
    super({ code: 503, replyText }, 'protocol desynchronised', false);
  }
}

/** The channel was closed: by the broker (a soft error such as 404 or 406), by the user, or by its connection. */
export class ChannelClosed extends AmqpError implements Closed {
  /** The reply code, e.g. 404 or 406; 0 when the channel was not closed by the broker. */
  declare readonly code: number;
  /** The reply text. */
  declare readonly replyText: string;
  /** Class id of the method that caused the close (0 when none). */
  declare readonly classId: number;
  /** Method id of the method that caused the close (0 when none). */
  declare readonly methodId: number;
  /** Whether retrying (after reconnecting) may succeed: a lost link, a forced close (320). */
  declare readonly retriable: boolean;

  constructor(details: CloseDetails = {}) {
    super(describeClose('channel closed', details), details.cause === undefined ? undefined : { cause: details.cause });
    closeFields(this, details, false);
  }
}

/** basic.get found no message. */
export class EmptyQueue extends AmqpError {}

/** Every channel id up to the negotiated channel-max is in use. */
export class NoChannelAvailable extends AmqpError {}

/** A consumer with that tag is already active on the channel. */
export class DuplicateConsumerTag extends AmqpError {}

/** The broker cancelled a consumer (e.g. its queue was deleted). */
export class ConsumerCancelled extends AmqpError {
  constructor(
    /** The cancelled consumer's tag. */
    readonly consumerTag: string,
    /** The queue it consumed from ('' when not known). */
    readonly queueName = '',
  ) {
    super(`consumer ${consumerTag}${queueName === '' ? '' : ` on queue '${queueName}'`} was cancelled by the broker`);
  }
}

/** The broker nacked a message published in confirm mode. */
export class PublishFailed extends AmqpError {
  constructor(
    /** The message's own delivery tag (also when the broker nacked with `multiple`). */
    readonly deliveryTag: number,
  ) {
    super(`the broker nacked published message ${deliveryTag}`);
  }
}

/** A call that waits for a reply did not get one in time. */
export class TimeoutError extends AmqpError {}

/** A publish would take the bytes held (blocked, flow or recovering) past `maxHeldBytes`; nothing was sent. */
export class PublishBufferFull extends AmqpError {}

/** Recovery could not declare again an entity the user had declared (`entity` says which); replay went on. */
export class TopologyRecoveryError extends AmqpError {
  constructor(
    /** What failed, e.g. `queue 'jobs'`, `exchange 'logs'`, a binding or `channel 3`. */
    readonly entity: string,
    /** The error the broker (or the link) gave for it. */
    override readonly cause: unknown,
  ) {
    super(`topology recovery failed for ${entity}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
