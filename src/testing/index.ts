// The `amqp091/testing` entry point: a scripted broker for users' own tests.

/**
 * `FakeBroker`, an AMQP 0-9-1 server on a loopback port for tests: it
 * answers like a broker on its own, or runs a script per connection, with
 * the raw frame builders of `wire`.
 * @module amqp091/testing
 */

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
