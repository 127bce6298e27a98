// Known bytes, laid out by hand from the AMQP 0-9-1 spec (and RabbitMQ's
// errata for field tables), never computed with our encoder. Each case is
// checked both ways: encode → exactly these bytes, decode → exactly this object.
import { describe, expect, it } from 'vitest';
import {
  BASIC_ACK,
  BASIC_CONSUME,
  BASIC_DELIVER,
  BASIC_NACK,
  BASIC_PUBLISH,
  CONFIRM_SELECT,
  CONNECTION_START_OK,
  CONNECTION_TUNE_OK,
  EXCHANGE_BIND,
  EXCHANGE_UNBIND_OK,
  QUEUE_DECLARE,
  decodeBasicProperties,
  decodeMethod,
  encodeBasicAck,
  encodeBasicConsume,
  encodeBasicDeliver,
  encodeBasicNack,
  encodeBasicProperties,
  encodeBasicPublish,
  encodeConfirmSelect,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  encodeExchangeBind,
  encodeExchangeUnbindOk,
  encodeQueueDeclare,
  type BasicPropertiesInit,
} from '../../generated/index.js';
import { Reader, Writer } from '../../src/wire/index.js';

/** Hex with spaces and `|` separators allowed, for readability. */
function hex(...parts: string[]): Buffer {
  const s = parts.join('').replace(/[\s|]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(s)) throw new Error(`bad hex literal: ${s}`);
  return Buffer.from(s, 'hex');
}

function encoded<T>(encode: (w: Writer, m: T) => void, m: T): Buffer {
  const w = new Writer(8); // small on purpose: growth must not disturb the bytes
  encode(w, m);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function encodedNoArgs(encode: (w: Writer) => void): Buffer {
  const w = new Writer(8);
  encode(w);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** The properties that are set (a decoded BasicProperties has every key, absent ones undefined). */
function defined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function decoded(bytes: Buffer): { id: number; args: unknown } {
  return decodeMethod(new Reader(bytes, 0, bytes.length));
}

interface Golden<T> {
  name: string;
  id: number;
  encode: (w: Writer, m: T) => void;
  args: T;
  bytes: Buffer;
}

function golden<T>(g: Golden<T>): Golden<unknown> {
  return g as Golden<unknown>;
}

const cases: Golden<unknown>[] = [
  golden({
    name: 'connection.start-ok (PLAIN guest/guest, one client property)',
    id: CONNECTION_START_OK,
    encode: encodeConnectionStartOk,
    args: {
      clientProperties: { product: 'x' },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    },
    bytes: hex(
      '000a 000b', //                       class 10 connection, method 11 start-ok
      '0000000e', //                        client-properties: table of 14 bytes
      '07 70726f64756374', //                 key "product"
      '53 00000001 78', //                    'S' long string, 1 byte: "x"
      '05 504c41494e', //                   mechanism: shortstr "PLAIN"
      '0000000c 00 6775657374 00 6775657374', // response: longstr "\0guest\0guest"
      '05 656e5f5553', //                   locale: shortstr "en_US"
    ),
  }),
  golden({
    name: 'connection.tune-ok',
    id: CONNECTION_TUNE_OK,
    encode: encodeConnectionTuneOk,
    args: { channelMax: 2047, frameMax: 131072, heartbeat: 60 },
    bytes: hex(
      '000a 001f', // class 10, method 31 tune-ok
      '07ff', //      channel-max: short 2047
      '00020000', //  frame-max: long 131072
      '003c', //      heartbeat: short 60
    ),
  }),
  golden({
    name: 'queue.declare "q" durable + auto-delete',
    id: QUEUE_DECLARE,
    encode: encodeQueueDeclare,
    args: { queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, noWait: false, arguments: {} },
    bytes: hex(
      '0032 000a', // class 50 queue, method 10 declare
      '0000', //      reserved-1 (ticket): short 0
      '01 71', //     queue: shortstr "q"
      '0a', //        bits: passive(1) durable(2)=1 exclusive(4) auto-delete(8)=1 no-wait(16) → 0x0a
      '00000000', //  arguments: empty table
    ),
  }),
  golden({
    name: 'basic.publish mandatory',
    id: BASIC_PUBLISH,
    encode: encodeBasicPublish,
    args: { exchange: 'amq.direct', routingKey: 'rk', mandatory: true, immediate: false },
    bytes: hex(
      '003c 0028', //               class 60 basic, method 40 publish
      '0000', //                    reserved-1 (ticket)
      '0a 616d712e646972656374', // exchange: shortstr "amq.direct"
      '02 726b', //                 routing-key: shortstr "rk"
      '01', //                      bits: mandatory(1)=1 immediate(2)=0
    ),
  }),
  golden({
    name: 'basic.deliver with a delivery tag above 2^32',
    id: BASIC_DELIVER,
    encode: encodeBasicDeliver,
    args: { consumerTag: 'ctag', deliveryTag: 2 ** 32 + 1, redelivered: true, exchange: '', routingKey: 'q' },
    bytes: hex(
      '003c 003c', //         class 60, method 60 deliver
      '04 63746167', //       consumer-tag: shortstr "ctag"
      '00000001 00000001', // delivery-tag: longlong 2^32 + 1
      '01', //                redelivered bit
      '00', //                exchange: shortstr ""
      '01 71', //             routing-key: shortstr "q"
    ),
  }),
  golden({
    name: 'basic.consume no-ack exclusive with x-priority',
    id: BASIC_CONSUME,
    encode: encodeBasicConsume,
    args: {
      queue: 'q',
      consumerTag: '',
      noLocal: false,
      noAck: true,
      exclusive: true,
      noWait: false,
      arguments: { 'x-priority': 10 },
    },
    bytes: hex(
      '003c 0014', //                    class 60, method 20 consume
      '0000', //                         reserved-1 (ticket)
      '01 71', //                        queue "q"
      '00', //                           consumer-tag "" (server assigns one)
      '06', //                           bits: no-local(1)=0 no-ack(2)=1 exclusive(4)=1 no-wait(8)=0
      '0000000d', //                     arguments: table of 13 bytes
      '0a 782d7072696f72697479', //        key "x-priority"
      '62 0a', //                          'b' int8 10 (smallest signed type that holds it)
    ),
  }),
  golden({
    name: 'basic.ack multiple',
    id: BASIC_ACK,
    encode: encodeBasicAck,
    args: { deliveryTag: 42, multiple: true },
    bytes: hex(
      '003c 0050', //         class 60, method 80 ack
      '00000000 0000002a', // delivery-tag 42
      '01', //                multiple
    ),
  }),
  golden({
    name: 'basic.nack requeue at 2^53-1',
    id: BASIC_NACK,
    encode: encodeBasicNack,
    args: { deliveryTag: Number.MAX_SAFE_INTEGER, multiple: false, requeue: true },
    bytes: hex(
      '003c 0078', //         class 60, method 120 nack (RabbitMQ extension)
      '001fffff ffffffff', // delivery-tag 2^53 - 1
      '02', //                bits: multiple(1)=0 requeue(2)=1
    ),
  }),
  golden({
    name: 'exchange.bind no-wait',
    id: EXCHANGE_BIND,
    encode: encodeExchangeBind,
    args: { destination: 'dst', source: 'src', routingKey: '#', noWait: true, arguments: {} },
    bytes: hex(
      '0028 001e', // class 40 exchange, method 30 bind (RabbitMQ extension)
      '0000', //      reserved-1 (ticket)
      '03 647374', // destination "dst"
      '03 737263', // source "src"
      '01 23', //     routing-key "#"
      '01', //        no-wait
      '00000000', //  arguments: empty table
    ),
  }),
  golden({
    name: 'confirm.select no-wait',
    id: CONFIRM_SELECT,
    encode: encodeConfirmSelect,
    args: { noWait: true },
    bytes: hex(
      '0055 000a', // class 85 confirm, method 10 select
      '01', //        no-wait
    ),
  }),
  golden({
    name: 'confirm.select',
    id: CONFIRM_SELECT,
    encode: encodeConfirmSelect,
    args: { noWait: false },
    bytes: hex('0055 000a', '00'),
  }),
];

describe('golden method bytes', () => {
  for (const c of cases) {
    it(`${c.name}: encodes to the spec's bytes`, () => {
      expect(encoded(c.encode, c.args).toString('hex')).toBe(c.bytes.toString('hex'));
    });
    it(`${c.name}: decodes to exactly the object`, () => {
      const m = decoded(c.bytes);
      expect(m.id).toBe(c.id);
      expect(m.args).toStrictEqual(c.args);
    });
  }

  it('exchange.unbind-ok is class 40 method 51 (not 41), no arguments', () => {
    const bytes = hex('0028 0033'); // 40, 51
    expect(EXCHANGE_UNBIND_OK).toBe(0x00280033);
    expect(encodedNoArgs(encodeExchangeUnbindOk).toString('hex')).toBe(bytes.toString('hex'));
    expect(decoded(bytes)).toStrictEqual({ id: EXCHANGE_UNBIND_OK, args: {} });
    // 40/41 is not a method at all.
    expect(() => decoded(hex('0028 0029'))).toThrow(expect.objectContaining({ code: 503 }));
  });
});

describe('golden content header', () => {
  const every: Required<BasicPropertiesInit> = {
    contentType: 'text/plain',
    contentEncoding: 'utf-8',
    headers: { a: 1 },
    deliveryMode: 2,
    priority: 9,
    correlationId: 'c1',
    replyTo: 'r',
    expiration: '60000',
    messageId: 'm',
    timestamp: new Date(1700000000 * 1000),
    messageType: 't',
    userId: 'guest',
    appId: 'app',
    clusterId: '',
  };

  // The part encodeBasicProperties owns: flag word + properties.
  const props = hex(
    'fffc', //                      flags: bits 15..2 = all 14 properties, bit 1 unused, bit 0 no continuation
    '0a 746578742f706c61696e', //   content-type "text/plain"
    '05 7574662d38', //             content-encoding "utf-8"
    '00000004 01 61 62 01', //      headers: table { a: int8 1 }
    '02', //                        delivery-mode 2 (persistent)
    '09', //                        priority 9
    '02 6331', //                   correlation-id "c1"
    '01 72', //                     reply-to "r"
    '05 3630303030', //             expiration "60000"
    '01 6d', //                     message-id "m"
    '00000000 6553f100', //         timestamp 1700000000 (POSIX seconds)
    '01 74', //                     type "t"
    '05 6775657374', //             user-id "guest"
    '03 617070', //                 app-id "app"
    '00', //                        cluster-id (reserved) ""
  );
  // A whole content-header payload: what precedes the flags is the framing layer's.
  const header = Buffer.concat([
    hex(
      '003c', //              class-id 60
      '0000', //              weight 0
      '00000000 00000005', // body size 5
    ),
    props,
  ]);

  it('encodes every property to the spec layout', () => {
    const w = new Writer(4);
    encodeBasicProperties(w, every);
    expect(w.buf.subarray(0, w.pos).toString('hex')).toBe(props.toString('hex'));
  });

  it('decodes every property from a whole header payload', () => {
    const r = new Reader(header, 0, header.length);
    expect(r.u16('class')).toBe(60);
    expect(r.u16('weight')).toBe(0);
    expect(r.u64('size')).toBe(5);
    const p = decodeBasicProperties(r);
    expect(r.pos).toBe(header.length);
    expect(defined(p)).toStrictEqual(every);
  });

  it('no properties: one zero flag word, and nothing set on decode', () => {
    const w = new Writer(4);
    encodeBasicProperties(w, {});
    expect(w.buf.subarray(0, w.pos).toString('hex')).toBe('0000');
    const w2 = new Writer(4);
    encodeBasicProperties(w2, undefined);
    expect(w2.buf.subarray(0, w2.pos).toString('hex')).toBe('0000');
    const p = decodeBasicProperties(new Reader(hex('0000')));
    expect(Object.values(p).filter((v) => v !== undefined)).toEqual([]);
  });

  it('a sparse set: only the flags of present properties, in spec order', () => {
    const bytes = hex(
      '1040', //                 delivery-mode (bit 12) + timestamp (bit 6)
      '01', //                   delivery-mode 1
      '00000000 00000000', //    timestamp 0 (the epoch)
    );
    const w = new Writer(4);
    encodeBasicProperties(w, { timestamp: new Date(0), deliveryMode: 1 });
    expect(w.buf.subarray(0, w.pos).toString('hex')).toBe(bytes.toString('hex'));
    expect(defined(decodeBasicProperties(new Reader(bytes)))).toStrictEqual({ deliveryMode: 1, timestamp: new Date(0) });
  });

  it('accepts a continuation flag word (bit 0) whose extra flags are all clear', () => {
    // Spec 4.2.6.1: "If the last bit (0) is set, this indicates that a further
    // property flags field follows." No 0-9-1 class has more than 15
    // properties, so the extra word carries no flags, but a peer may send it.
    const bytes = hex(
      '8001', //    content-type + continuation
      '0000', //    second flag word: nothing more
      '01 61', //   content-type "a"
    );
    const r = new Reader(bytes);
    const p = decodeBasicProperties(r);
    expect(p.contentType).toBe('a');
    expect(r.pos).toBe(bytes.length);
  });
});
