// The `wire` namespace of `amqp091/testing`: raw frame builders and readers
// for FakeBroker scripts, built from Buffers and independent of the
// client's codecs (wire-build.ts says why).

export * from './wire-build.js';
export * from './wire-parse.js';
