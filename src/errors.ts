// The error classes of the public API (API.md "Errors"). Every error the
// library raises is one of these, so callers can branch on `instanceof`.

import type { BasicProperties } from '../generated/index.js';

/** Details of a close: the reply code and text, and which method caused it. */
export interface CloseDetails {
  /** Reply code; 0 when the close did not come from a close method. */
  code?: number;
  replyText?: string;
  classId?: number;
  methodId?: number;
  cause?: unknown;
}

/** Base class of every error this library raises (aioamqp's AioamqpException). */
export class AmqpError extends Error {
  override get name(): string {
    return this.constructor.name;
  }
}

function describeClose(what: string, d: CloseDetails): string {
  const code = d.code ?? 0;
  const text = d.replyText ?? '';
  const where = d.classId ? ` (class ${d.classId}, method ${d.methodId ?? 0})` : '';
  return `${what}: ${code}${text ? ` ${text}` : ''}${where}`;
}

/** The connection is gone: closed by the broker, the socket, or a failure. */
export class AmqpClosedConnection extends AmqpError {
  readonly code: number;
  readonly replyText: string;
  readonly classId: number;
  readonly methodId: number;

  constructor(details: CloseDetails = {}, what = 'connection closed') {
    super(describeClose(what, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code ?? 0;
    this.replyText = details.replyText ?? '';
    this.classId = details.classId ?? 0;
    this.methodId = details.methodId ?? 0;
  }
}

/**
 * The peer sent bytes that are not a valid AMQP frame. Always ends the
 * connection; `code` is the reply code the client closes with (501 frame
 * error unless said otherwise).
 */
export class FrameError extends AmqpClosedConnection {
  constructor(replyText: string, code = 501, cause?: unknown) {
    super({ code, replyText, cause }, 'frame error');
  }
}

/** The broker answered a call with a method that is not one of its replies. */
export class SynchronizationError extends AmqpClosedConnection {
  constructor(replyText: string) {
    super({ code: 503, replyText }, 'protocol desynchronised');
  }
}

/** The channel was closed (by the broker, the user or its connection). */
export class ChannelClosed extends AmqpError {
  readonly code: number;
  readonly replyText: string;
  readonly classId: number;
  readonly methodId: number;

  constructor(details: CloseDetails = {}) {
    super(describeClose('channel closed', details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code ?? 0;
    this.replyText = details.replyText ?? '';
    this.classId = details.classId ?? 0;
    this.methodId = details.methodId ?? 0;
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
  constructor(readonly consumerTag: string) {
    super(`consumer ${consumerTag} was cancelled by the broker`);
  }
}

/** The broker nacked a message published in confirm mode. */
export class PublishFailed extends AmqpError {
  constructor(readonly deliveryTag: number) {
    super(`the broker nacked published message ${deliveryTag}`);
  }
}

/** A call that waits for a reply did not get one in time. */
export class TimeoutError extends AmqpError {}

/**
 * The broker returned a published message (basic.return) and the channel
 * has no returnCallback: this reaches the connection's onError.
 */
export class MessageReturned extends AmqpError {
  constructor(
    readonly replyCode: number,
    readonly replyText: string,
    readonly exchangeName: string,
    readonly routingKey: string,
    readonly body: Buffer,
    readonly properties: BasicProperties,
  ) {
    super(`message returned by the broker: ${replyCode} ${replyText} (exchange '${exchangeName}', routing key '${routingKey}')`);
  }
}
