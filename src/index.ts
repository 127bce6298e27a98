// The package root: everything API.md lists.

/**
 * The AMQP 0-9-1 client: `connect`, `fromUrl`, channels, consumers, RPC.
 * @module amqp091
 */

export { connect, Transport, type ConnectOptions, type ProtocolFactory } from './connect.js';
export { fromUrl, parseUrl } from './url.js';
export { AmqpProtocol, type ConnectionState, type AmqpProtocolEvents } from './connection.js';
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
  ConsumeIteratorOptions,
  CancelOptions,
  GetOptions,
  NackOptions,
  RejectOptions,
  RecoverOptions,
  QueueDeclareResult,
  GetResult,
} from './channel-options.js';
export { type ConsumerCallback } from './channel.js';
export type { ChannelEvents } from './channel-events.js';
export { Consumer } from './consumer-iterator.js';
export { type ConsumerState, type ConsumerHandle } from './consumer-state.js';
export { Message } from './message.js';
export type { StreamOffset } from './stream-offset.js';
export type { SettleMode } from './settle.js';
export { Envelope, ReturnEnvelope } from './framing/envelope.js';
export { BasicProperties as Properties, type BasicPropertiesInit as PropertiesInit } from '../generated/basic.js';
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
  TimeoutError,
  PublishBufferFull,
  TopologyRecoveryError,
  type CloseDetails,
} from './errors.js';
export { MessageReturned } from './message-returned.js';
export type { RpcClient, RpcClientOptions, RpcCallOptions, RpcReply } from './rpc-client.js';
export type { RpcServer, RpcServerOptions, RpcHandler, RpcResult } from './rpc-server.js';
export type { ProtocolOptions, LoginMethod, ErrorCallback, CloseOptions, PasswordOption } from './options.js';
export type { SecretUpdateOptions } from './secret-update.js';
export type { HostSpec } from './endpoints.js';
export type { RecoveryOptions } from './recovery/policy.js';
export type { RecoveringInfo, RecoveredInfo } from './recovery/events.js';
export type { PublishTraceContext, ConsumeTraceContext, RpcTraceContext, ConnectionTraceMessage, ConnectionTraceEvent } from './tracing.js';
