// The channels of one fake-broker connection: the answers to channel,
// exchange, queue, basic, confirm and tx methods, publishes put back
// together from their frames and recorded, and broker-side channel closes.
// A protocol violation by the client throws FrameError with the code the
// connection must be closed with (the session does that).

import { FrameError } from '../errors.js';
import { Reader, fitShortstr } from '../wire/index.js';
import { CHANNEL_CLOSE, CHANNEL_CLOSE_OK, CHANNEL_FLOW, CHANNEL_OPEN, encodeChannelClose, encodeChannelCloseOk, encodeChannelFlowOk, encodeChannelOpenOk } from '../../generated/channel.js';
import { EXCHANGE_BIND, EXCHANGE_DECLARE, EXCHANGE_DELETE, EXCHANGE_UNBIND, encodeExchangeBindOk, encodeExchangeDeclareOk, encodeExchangeDeleteOk, encodeExchangeUnbindOk } from '../../generated/exchange.js';
import { QUEUE_BIND, QUEUE_DECLARE, QUEUE_DELETE, QUEUE_PURGE, QUEUE_UNBIND, encodeQueueBindOk, encodeQueueDeclareOk, encodeQueueDeleteOk, encodeQueuePurgeOk, encodeQueueUnbindOk } from '../../generated/queue.js';
import {
  BASIC_ACK,
  BASIC_CANCEL,
  BASIC_CANCEL_OK,
  BASIC_CONSUME,
  BASIC_GET,
  BASIC_NACK,
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_RECOVER,
  BASIC_RECOVER_ASYNC,
  BASIC_REJECT,
  decodeBasicProperties,
  encodeBasicAck,
  encodeBasicCancelOk,
  encodeBasicConsumeOk,
  encodeBasicGetEmpty,
  encodeBasicQosOk,
  encodeBasicRecoverOk,
  type BasicPublish,
} from '../../generated/basic.js';
import { CONFIRM_SELECT, encodeConfirmSelectOk } from '../../generated/confirm.js';
import { TX_COMMIT, TX_ROLLBACK, TX_SELECT, encodeTxCommitOk, encodeTxRollbackOk, encodeTxSelectOk } from '../../generated/tx.js';
import { CHANNEL_ERROR, COMMAND_INVALID, NOT_ALLOWED, UNEXPECTED_FRAME } from '../../generated/constants.js';
import { METHOD_INFO, type IncomingMethod } from '../../generated/dispatch.js';
import { generatedName, type BrokerState, type ConsumerHost } from './broker-state.js';
import { methodFrame, type Encoder } from './frames.js';

/** What the channels need of their connection. */
export interface ChannelsHost {
  readonly state: BrokerState;
  /** This connection, as the consumer host of its consumers. */
  readonly consumerHost: ConsumerHost;
  /** Write frames to the client. */
  send(frames: Buffer[]): void;
}

interface Publish {
  readonly method: BasicPublish;
  properties: ReturnType<typeof decodeBasicProperties> | null;
  size: number;
  readonly parts: Buffer[];
  fill: number;
}

interface ChannelRecord {
  readonly id: number;
  /** A channel.close we sent, until the client's close-ok (`done` resolves then). */
  closing: { readonly done: () => void } | null;
  confirm: boolean;
  /** Delivery tags of the client's publishes (confirm mode) and of our deliveries. */
  publishSeq: number;
  deliverySeq: number;
  /** The last queue declared on the channel: what '' means in later queue methods. */
  lastQueue: string;
  publish: Publish | null;
}

export class Channels {
  private readonly open = new Map<number, ChannelRecord>();

  constructor(private readonly host: ChannelsHost) {}

  /** Whether channel `id` is open (and not being closed by us). */
  isOpen(id: number): boolean {
    const ch = this.open.get(id);
    return ch !== undefined && ch.closing === null;
  }

  /** The next delivery tag on an open channel. */
  nextDeliveryTag(id: number): number {
    const ch = this.open.get(id);
    if (ch === undefined) throw new Error(`FakeBroker: channel ${id} is not open`);
    return ++ch.deliverySeq;
  }

  /** Send channel.close; resolves once the client's close-ok came (or the connection ended). */
  close(id: number, code: number, text: string): Promise<void> {
    const ch = this.open.get(id);
    if (ch === undefined || ch.closing !== null) return Promise.resolve();
    this.dropConsumers(id);
    return new Promise<void>((resolve) => {
      ch.closing = { done: resolve };
      ch.publish = null;
      this.send(id, encodeChannelClose, { replyCode: code, replyText: fitShortstr(text), classId: 0, methodId: 0 });
    });
  }

  /** The connection ended: every channel is gone. */
  reset(): void {
    for (const ch of this.open.values()) ch.closing?.done();
    this.open.clear();
  }

  onMethod(id: number, m: IncomingMethod): void {
    if (m.id === CHANNEL_OPEN) {
      if (this.open.has(id)) throw new FrameError(`second channel.open on channel ${id}`, CHANNEL_ERROR);
      this.open.set(id, { id, closing: null, confirm: false, publishSeq: 0, deliverySeq: 0, lastQueue: '', publish: null });
      this.send(id, encodeChannelOpenOk, undefined);
      return;
    }
    const ch = this.open.get(id);
    if (ch === undefined) throw new FrameError(`${METHOD_INFO[m.id].name} on channel ${id}, which is not open`, CHANNEL_ERROR);
    if (ch.closing !== null) {
      // After our channel.close only close and close-ok count (spec 2.3.5.2).
      if (m.id === CHANNEL_CLOSE_OK || m.id === CHANNEL_CLOSE) {
        if (m.id === CHANNEL_CLOSE) this.send(id, encodeChannelCloseOk, undefined);
        this.open.delete(id);
        ch.closing.done();
      }
      return;
    }
    if (ch.publish !== null) {
      throw new FrameError(`channel ${id}: ${METHOD_INFO[m.id].name} while a publish's content was due`, UNEXPECTED_FRAME);
    }
    this.answer(ch, m);
  }

  /** A content header frame, `buf[start, end)`. */
  onHeader(id: number, buf: Buffer, start: number, end: number): void {
    const ch = this.open.get(id);
    if (ch?.closing) return;
    const p = ch?.publish;
    if (p === undefined || p === null || p.properties !== null) {
      throw new FrameError(`channel ${id}: content header without basic.publish`, UNEXPECTED_FRAME);
    }
    const r = new Reader(buf, start, end);
    r.u16('content header class-id');
    r.u16('content header weight');
    p.size = r.u64('content header body-size');
    p.properties = decodeBasicProperties(r);
    if (p.size === 0) this.published(ch!);
  }

  /** A content body frame, `buf[start, end)`. */
  onBody(id: number, buf: Buffer, start: number, end: number): void {
    const ch = this.open.get(id);
    if (ch?.closing) return;
    const p = ch?.publish;
    if (p === undefined || p === null || p.properties === null) {
      throw new FrameError(`channel ${id}: content body without a content header`, UNEXPECTED_FRAME);
    }
    p.parts.push(Buffer.from(buf.subarray(start, end)));
    p.fill += end - start;
    if (p.fill > p.size) throw new FrameError(`channel ${id}: ${p.fill} body bytes, header said ${p.size}`, UNEXPECTED_FRAME);
    if (p.fill === p.size) this.published(ch!);
  }

  private published(ch: ChannelRecord): void {
    const p = ch.publish!;
    ch.publish = null;
    const m = p.method;
    this.host.state.published.push({
      channel: ch.id,
      exchange: m.exchange,
      routingKey: m.routingKey,
      mandatory: m.mandatory,
      body: p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.fill),
      properties: p.properties!,
    });
    if (ch.confirm) this.send(ch.id, encodeBasicAck, { deliveryTag: ++ch.publishSeq, multiple: false });
  }

  private answer(ch: ChannelRecord, m: IncomingMethod): void {
    const id = ch.id;
    const state = this.host.state;
    switch (m.id) {
      case CHANNEL_CLOSE:
        this.dropConsumers(id);
        this.open.delete(id);
        return this.send(id, encodeChannelCloseOk, undefined);
      case CHANNEL_CLOSE_OK:
        throw new FrameError(`channel.close-ok on channel ${id}, which was not closing`, COMMAND_INVALID);
      case CHANNEL_FLOW:
        return this.send(id, encodeChannelFlowOk, { active: m.args.active });
      case EXCHANGE_DECLARE:
        return this.reply(id, m.args.noWait, encodeExchangeDeclareOk, undefined);
      case EXCHANGE_DELETE:
        return this.reply(id, m.args.noWait, encodeExchangeDeleteOk, undefined);
      case EXCHANGE_BIND:
        return this.reply(id, m.args.noWait, encodeExchangeBindOk, undefined);
      case EXCHANGE_UNBIND:
        return this.reply(id, m.args.noWait, encodeExchangeUnbindOk, undefined);
      case QUEUE_DECLARE: {
        const ok = state.declareQueue(m.args.queue, m.args.exclusive, this.host.consumerHost);
        ch.lastQueue = ok.queue;
        return this.reply(id, m.args.noWait, encodeQueueDeclareOk, { ...ok, messageCount: 0 });
      }
      case QUEUE_BIND:
        return this.reply(id, m.args.noWait, encodeQueueBindOk, undefined);
      case QUEUE_UNBIND:
        return this.send(id, encodeQueueUnbindOk, undefined);
      case QUEUE_PURGE:
        return this.reply(id, m.args.noWait, encodeQueuePurgeOk, { messageCount: 0 });
      case QUEUE_DELETE:
        state.deleteQueue(m.args.queue || ch.lastQueue);
        return this.reply(id, m.args.noWait, encodeQueueDeleteOk, { messageCount: 0 });
      case BASIC_QOS:
        return this.send(id, encodeBasicQosOk, undefined);
      case BASIC_CONSUME: {
        const tag = m.args.consumerTag || generatedName('amq.ctag');
        if (state.hasConsumerTag(this.host.consumerHost, id, tag)) {
          throw new FrameError(`attempt to reuse consumer tag '${tag}' on channel ${id}`, NOT_ALLOWED);
        }
        const queue = m.args.queue || ch.lastQueue;
        state.addConsumer({ tag, queue, channel: id, noAck: m.args.noAck, host: this.host.consumerHost });
        return this.reply(id, m.args.noWait, encodeBasicConsumeOk, { consumerTag: tag });
      }
      case BASIC_CANCEL: {
        const tag = m.args.consumerTag;
        state.removeConsumers(this.host.consumerHost, (c) => c.channel === id && c.tag === tag);
        return this.reply(id, m.args.noWait, encodeBasicCancelOk, { consumerTag: tag });
      }
      case BASIC_PUBLISH:
        ch.publish = { method: m.args, properties: null, size: 0, parts: [], fill: 0 };
        return;
      case BASIC_GET:
        return this.send(id, encodeBasicGetEmpty, undefined);
      case BASIC_ACK:
      case BASIC_NACK:
      case BASIC_REJECT:
      case BASIC_RECOVER_ASYNC:
      case BASIC_CANCEL_OK: // the answer to a cancel we sent
        return;
      case BASIC_RECOVER:
        return this.send(id, encodeBasicRecoverOk, undefined);
      case CONFIRM_SELECT:
        ch.confirm = true;
        return this.reply(id, m.args.noWait, encodeConfirmSelectOk, undefined);
      case TX_SELECT:
        return this.send(id, encodeTxSelectOk, undefined);
      case TX_COMMIT:
        return this.send(id, encodeTxCommitOk, undefined);
      case TX_ROLLBACK:
        return this.send(id, encodeTxRollbackOk, undefined);
      default:
        throw new FrameError(`${METHOD_INFO[m.id].name} is not a method a client sends on a channel`, COMMAND_INVALID);
    }
  }

  private dropConsumers(id: number): void {
    this.host.state.removeConsumers(this.host.consumerHost, (c) => c.channel === id);
  }

  private reply<T>(id: number, noWait: boolean, encode: Encoder<T>, args: T): void {
    if (!noWait) this.send(id, encode, args);
  }

  private send<T>(id: number, encode: Encoder<T>, args: T): void {
    this.host.send([methodFrame(id, encode, args)]);
  }
}
