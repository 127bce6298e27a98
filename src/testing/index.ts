// The `amqp091/testing` entry point: a scripted broker for users' own tests.

export { FakeBroker } from './fake-broker.js';
export type { PublishedMessage } from './broker-state.js';
