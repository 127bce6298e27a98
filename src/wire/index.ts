// The wire primitives that generated codecs build on. Generated code
// imports only this module; nothing here imports generated code.
export { Writer, MAX_TABLE_DEPTH } from './writer.js';
export { Reader } from './reader.js';
export { fitShortstr } from './shortstr.js';
export { Decimal, TypedValue, typed, type FieldTable, type FieldValue, type WireTypeName } from './values.js';
export { FrameError } from '../errors.js';
