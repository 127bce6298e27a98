// Realistic message properties (issue 15, "Messages with properties"): what an
// application typically sets on a message. Every client gets the same values;
// each adapter maps them to its own API once, before the timed loop.

/** The properties, in neutral form; each adapter converts them. */
export interface AppProps {
  contentType: string;
  contentEncoding: string;
  /** persistent (delivery mode 2) */
  persistent: true;
  correlationId: string;
  replyTo: string;
  messageId: string;
  /** whole seconds, as AMQP timestamps are */
  timestamp: Date;
  type: string;
  appId: string;
  /** strings, integers (int32) and a boolean */
  headers: Record<string, string | number | boolean>;
}

/** Distinct property sets a publisher cycles through (ids differ per message within a cycle). */
export const PROPS_CYCLE = 256;

/** `count` property sets with distinct message and correlation ids. */
export function appProps(count = PROPS_CYCLE): AppProps[] {
  const ts = new Date(Math.floor(Date.now() / 1000) * 1000);
  const out: AppProps[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${(0x10000000 + i * 7919).toString(16)}-6c2e-4f0a-9d1b-${(0x100000000000 + i).toString(16)}`;
    out.push({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      persistent: true,
      correlationId: `corr-${id}`,
      replyTo: 'orders.replies',
      messageId: id,
      timestamp: ts,
      type: 'order.created',
      appId: 'orders-service',
      headers: {
        'x-tenant': 'acme-corp',
        'x-trace-id': `00-${id.replace(/-/g, '')}-01`,
        'x-source': 'checkout',
        'x-attempt': 1,
        'x-schema-version': 3,
        'x-priority-score': 4711,
        'x-replay': false,
      },
    });
  }
  return out;
}
