// The `amqp091/testing` entry point: a scripted broker for users' own tests.

export { FakeBroker, type FakeBrokerOptions } from './fake-broker.js';
export type { PublishedMessage } from './broker-state.js';
export type { HandshakeOptions, HandshakeResult, NextFrameOptions, Script, ScriptedConnection } from './scripted.js';
/**
 * Raw frame builders (`methodFrame`, `connectionClose`, `table`, …) and
 * readers (`Reader`, `parseClose`, …) for FakeBroker scripts. Built from
 * Buffers, independent of the client's own codecs, and unchecked: a script
 * can send bytes no broker would.
 */
export * as wire from './wire.js';
