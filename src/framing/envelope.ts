// What the user receives with a message (API.md "Envelope, ReturnEnvelope"):
// plain values that the inbound framing decodes straight into.

/** Delivery details of a consumed message. */
export class Envelope {
  constructor(
    readonly consumerTag: string,
    readonly deliveryTag: number,
    readonly exchangeName: string,
    readonly routingKey: string,
    readonly isRedeliver: boolean,
  ) {}
}

/** Why and where the broker returned a published message (basic.return). */
export class ReturnEnvelope {
  constructor(
    readonly replyCode: number,
    readonly replyText: string,
    readonly exchangeName: string,
    readonly routingKey: string,
  ) {}
}
