// What the user receives with a message (API.md "Envelope, ReturnEnvelope"):
// plain values that the inbound framing decodes straight into.

/** Delivery details of a consumed message. */
export class Envelope {
  constructor(
    /** The consumer the message was delivered to. */
    readonly consumerTag: string,
    /** The channel's number for this delivery: pass it to `basicClientAck`, `basicClientNack` or `basicReject`. */
    readonly deliveryTag: number,
    /** The exchange the message was published to ('' for the default exchange). */
    readonly exchangeName: string,
    /** The routing key it was published with. */
    readonly routingKey: string,
    /** Whether the message was delivered before (and not acked): it may have been processed already. */
    readonly isRedeliver: boolean,
  ) {}
}

/** Why and where the broker returned a published message (basic.return). */
export class ReturnEnvelope {
  constructor(
    /** Why it was returned, e.g. 312 (NO_ROUTE: no queue matched a `mandatory` message). */
    readonly replyCode: number,
    /** The broker's text for `replyCode`, e.g. 'NO_ROUTE'. */
    readonly replyText: string,
    /** The exchange the message was published to. */
    readonly exchangeName: string,
    /** The routing key it was published with. */
    readonly routingKey: string,
  ) {}
}
