// What a peer that does not speak AMQP 0-9-1 speaks instead, told from the
// first bytes it sent, so that a wrong port or scheme gets a message that
// says how to fix it rather than "unknown frame type 72".

const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;

/** AMQP protocol headers other than ours: protocol id / major / minor after 'AMQP'. */
function amqpVersion(b4: number | undefined, b5: number | undefined, b6: number | undefined): string {
  if (b5 === 1 && b6 === 0 && (b4 === 0 || b4 === 2 || b4 === 3)) {
    const layer = b4 === 2 ? ' over TLS' : b4 === 3 ? ' with SASL' : '';
    return `AMQP 1.0${layer}`;
  }
  if (b4 === 1 && b5 === 1 && b6 === 8) return 'AMQP 0-8';
  if (b4 === 1 && b5 === 1 && b6 === 9) return 'AMQP 0-9';
  if (b4 === 0 && b5 === 0 && b6 === 9) return 'AMQP 0-9-1 (it refused the header we sent)';
  return `an unknown AMQP version (header bytes ${[b4, b5, b6].map((b) => b ?? '?').join(' ')})`;
}

/**
 * Why the first bytes a peer sent, `buf[at, end)`, cannot be an AMQP 0-9-1
 * frame: a sentence naming the protocol the peer speaks, or the bytes in hex.
 */
export function describeForeignPeer(buf: Buffer, at: number, end: number): string {
  const head = buf.toString('latin1', at, Math.min(end, at + 5));
  if (head === 'HTTP/') {
    return "the peer speaks HTTP, not AMQP — wrong port? RabbitMQ's management UI is on 15672";
  }
  const first = buf[at];
  if ((first === TLS_ALERT || first === TLS_HANDSHAKE) && buf[at + 1] === 0x03) {
    return 'the peer expects TLS; use amqps:// or the `ssl` option';
  }
  if (head.startsWith('AMQP')) {
    return `the peer does not speak AMQP 0-9-1: its protocol header offered ${amqpVersion(buf[at + 4], buf[at + 5], buf[at + 6])}`;
  }
  const hex = buf.subarray(at, Math.min(end, at + 8)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return `the peer does not speak AMQP 0-9-1: its first bytes are ${hex}`;
}
