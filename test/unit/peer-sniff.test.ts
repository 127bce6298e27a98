// A peer that does not speak AMQP 0-9-1 is named from its first bytes.

import { describe, expect, it } from 'vitest';
import { describeForeignPeer } from '../../src/framing/peer-sniff.js';

const sniff = (bytes: number[] | string): string => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return describeForeignPeer(b, 0, b.length);
};

describe('describeForeignPeer', () => {
  it('HTTP: says so and points at the management port', () => {
    expect(sniff('HTTP/1.1 400 Bad Request\r\n')).toBe("the peer speaks HTTP, not AMQP — wrong port? RabbitMQ's management UI is on 15672");
  });

  it('a TLS alert or handshake record: use amqps://', () => {
    expect(sniff([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])).toMatch(/expects TLS; use amqps:\/\/ or the `ssl` option/);
    expect(sniff([0x16, 0x03, 0x01, 0x00, 0x50])).toMatch(/expects TLS/);
  });

  it('another AMQP protocol header: names the version', () => {
    expect(sniff([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0])).toBe('the peer does not speak AMQP 0-9-1: its protocol header offered AMQP 1.0');
    expect(sniff([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0])).toBe('the peer does not speak AMQP 0-9-1: its protocol header offered AMQP 1.0 with SASL');
    expect(sniff([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0])).toBe('the peer does not speak AMQP 0-9-1: its protocol header offered AMQP 1.0 over TLS');
    expect(sniff([0x41, 0x4d, 0x51, 0x50, 1, 1, 8, 0])).toBe('the peer does not speak AMQP 0-9-1: its protocol header offered AMQP 0-8');
    expect(sniff([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])).toMatch(/AMQP 0-9-1 \(it refused the header we sent\)/);
  });

  it('anything else: the first bytes in hex', () => {
    expect(sniff('220 smtp.example.com ESMTP')).toBe('the peer does not speak AMQP 0-9-1: its first bytes are 32 32 30 20 73 6d 74 70');
    expect(sniff([0xff, 0x00])).toBe('the peer does not speak AMQP 0-9-1: its first bytes are ff 00');
  });
});
