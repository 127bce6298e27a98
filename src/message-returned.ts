// MessageReturned: the error for a message the broker returned
// (basic.return). Apart from errors.ts because it carries the message's
// properties, a generated type, and errors.ts must stay a leaf.

import type { BasicProperties } from '../generated/basic.js';
import { AmqpError } from './errors.js';

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
