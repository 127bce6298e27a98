// The package root: everything API.md lists.

export { connect, Transport } from './connect.js';
export { fromUrl, parseUrl } from './url.js';
export { AmqpProtocol, type ConnectionState, type CloseOptions, type AmqpProtocolEvents } from './connection.js';
export { Channel, type ChannelState, type ChannelOptions, type ReturnCallback, type CancellationCallback } from './channel.js';
export type {
  QueueDeclareOptions,
  QueueDeleteOptions,
  ExchangeDeclareOptions,
  ExchangeDeleteOptions,
  BindOptions,
  QueueUnbindOptions,
  PurgeOptions,
  PublishOptions,
  QosOptions,
  ConsumeOptions,
  CancelOptions,
  GetOptions,
  NackOptions,
  RejectOptions,
  RecoverOptions,
  QueueDeclareResult,
} from './channel-options.js';
export { type ConsumerCallback, type ConsumerState } from './consumer.js';
export { Envelope, ReturnEnvelope, type GetResult } from './envelope.js';
export {
  BasicProperties as Properties,
  type BasicPropertiesInit as PropertiesInit,
} from '../generated/index.js';
export { Decimal, TypedValue, typed, type FieldTable, type FieldValue, type WireTypeName } from './wire/index.js';
export {
  AmqpError,
  AmqpClosedConnection,
  FrameError,
  SynchronizationError,
  ChannelClosed,
  EmptyQueue,
  NoChannelAvailable,
  DuplicateConsumerTag,
  ConsumerCancelled,
  PublishFailed,
  MessageReturned,
  TimeoutError,
  type CloseDetails,
} from './errors.js';
export type { ConnectOptions, ProtocolOptions, ProtocolFactory, LoginMethod, ErrorCallback } from './options.js';
