// MessageReturned: the error for a message the broker returned
// (basic.return). Apart from errors.ts because it carries the message's
// properties, a generated type, and errors.ts must stay a leaf.

import type { BasicProperties } from '../generated/basic.js';
import { AmqpError } from './errors.js';

/**
 * The broker returned a published message (basic.return). On a confirm
 * channel a returned `mandatory` publish rejects with it (`deliveryTag`
 * says which publish); otherwise, when the channel has no returnCallback,
 * it reaches the connection's onError.
 */
export class MessageReturned extends AmqpError {
  constructor(
    /** Why it was returned, e.g. 312 (NO_ROUTE). */
    readonly replyCode: number,
    /** The broker's text for `replyCode`. */
    readonly replyText: string,
    /** The exchange the message was published to. */
    readonly exchangeName: string,
    /** The routing key it was published with. */
    readonly routingKey: string,
    /** The returned message's body. */
    readonly body: Buffer,
    /** The returned message's properties. */
    readonly properties: BasicProperties,
    /** The returned publish's delivery tag, on a confirm channel; else undefined. */
    readonly deliveryTag?: number,
  ) {
    super(`message returned by the broker: ${replyCode} ${replyText} (exchange '${exchangeName}', routing key '${routingKey}')`);
  }
}
