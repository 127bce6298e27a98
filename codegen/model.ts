// Stage 3: merged raw spec → Model. Resolves domains to wire types, picks
// TS names and types, lays out bit packing and property flags, links
// responses, and checks every invariant the emitters rely on. Emitters see
// only this model, never XML.

import { docText, oneLine } from './docs.js';
import { SpecError } from './errors.js';
import { camel, localName, pascal, propertyName, upperSnake } from './naming.js';
import type { RawClass, RawConstant, RawDomain, RawField, RawMethod, RawSpec } from './parse.js';

export type WireType = 'bit' | 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'timestamp' | 'table';
export type TsType = 'number' | 'boolean' | 'string' | 'Buffer' | 'FieldTable' | 'Date';

const WIRE_TYPES: ReadonlySet<string> = new Set(['bit', 'octet', 'short', 'long', 'longlong', 'shortstr', 'longstr', 'timestamp', 'table']);

const TS_TYPES: Readonly<Record<WireType, TsType>> = {
  bit: 'boolean',
  octet: 'number',
  short: 'number',
  long: 'number',
  // 64-bit values in AMQP are delivery tags and counts; as JS numbers they
  // are exact up to 2^53-1, far beyond any real tag, and cheap on the hot path.
  longlong: 'number',
  shortstr: 'string',
  longstr: 'string',
  timestamp: 'Date',
  table: 'FieldTable',
};

/**
 * Long strings that carry binary data rather than text: SASL responses and
 * challenges. Keyed by `class.method.field`.
 */
const BINARY_LONGSTR: ReadonlySet<string> = new Set([
  'connection.start-ok.response',
  'connection.secure.challenge',
  'connection.secure-ok.response',
]);

/**
 * Who sends a method, from the spec's `<chassis name="client|server">`
 * elements: a chassis names a peer that implements (receives) the method.
 */
export type Direction = 'client-to-server' | 'server-to-client' | 'both';

export interface FieldModel {
  /** Spec name, e.g. `routing-key`. */
  specName: string;
  /** `basic.publish.routing-key`: used in error messages. */
  path: string;
  /** Interface property name; empty for reserved fields. */
  name: string;
  /** A legal local-variable name for decoders. */
  local: string;
  wireType: WireType;
  tsType: TsType;
  domain: string;
  reserved: boolean;
  doc: string;
  label: string;
  /** For bits: which packed octet (index among the method's octets) and bit. */
  bitOctet: number;
  bitMask: number;
}

export interface MethodModel {
  classModel: ClassModel;
  specName: string;
  /** `basic.publish` */
  fullName: string;
  /** `BasicPublish` */
  typeName: string;
  /** `BASIC_PUBLISH` */
  constName: string;
  index: number;
  /** classId << 16 | methodId */
  id: number;
  synchronous: boolean;
  hasContent: boolean;
  /** Response methods, in spec order. */
  responses: MethodModel[];
  responseNames: string[];
  /** Which peers must or may receive it: 'client' means the server sends it. */
  receivers: string[];
  /** Who sends it, from `receivers`. */
  direction: Direction;
  fields: FieldModel[];
  doc: string;
  label: string;
}

export interface PropertyModel extends FieldModel {
  /** Which 16-bit flag word, and the bit within it. */
  flagWord: number;
  flagBit: number;
}

export interface ClassModel {
  specName: string;
  typeName: string;
  index: number;
  doc: string;
  label: string;
  methods: MethodModel[];
  properties: PropertyModel[];
}

export interface ConstantModel {
  specName: string;
  constName: string;
  value: number;
  /** 'soft-error' | 'hard-error' for reply codes; undefined for others. */
  errorClass: string | undefined;
  isReplyCode: boolean;
  doc: string;
}

export interface Model {
  /** Input files, relative to the project root, in merge order. */
  inputs: string[];
  constants: ConstantModel[];
  classes: ClassModel[];
  methods: MethodModel[];
}

function intAttr(value: string | undefined, file: string, what: string, max: number): number {
  if (value === undefined) throw new SpecError(file, `${what} has no index`);
  if (!/^\d+$/.test(value) || Number(value) > max) throw new SpecError(file, `${what}: invalid index '${value}'`);
  return Number(value);
}

function resolveWireType(raw: RawField, domains: ReadonlyMap<string, RawDomain>, where: string): { wireType: WireType; domain: string } {
  const domain = raw.domain ?? raw.type;
  if (!domain) throw new SpecError(raw.file, `${where}: field has neither domain nor type`);
  let name: string = domain;
  const seen = new Set<string>();
  while (!WIRE_TYPES.has(name)) {
    if (seen.has(name)) throw new SpecError(raw.file, `${where}: domain '${domain}' is defined in a cycle`);
    seen.add(name);
    const next: string | undefined = domains.get(name)?.type;
    if (next === undefined) throw new SpecError(raw.file, `${where}: unknown domain or wire type '${name}'`);
    if (next === name) throw new SpecError(raw.file, `${where}: unknown wire type '${name}'`);
    name = next;
  }
  return { wireType: name as WireType, domain };
}

function fieldModel(raw: RawField, path: string, domains: ReadonlyMap<string, RawDomain>, isProperty: boolean): FieldModel {
  const { wireType, domain } = resolveWireType(raw, domains, path);
  const reserved = raw.reserved && !isProperty;
  const name = reserved ? '' : isProperty ? propertyName(raw.name) : camel(raw.name);
  const tsType = wireType === 'longstr' && BINARY_LONGSTR.has(path) ? 'Buffer' : TS_TYPES[wireType];
  return {
    specName: raw.name,
    path,
    name,
    local: localName(name || camel(raw.name)),
    wireType,
    tsType,
    domain,
    reserved,
    // A field without its own text inherits its domain's (e.g. no-wait).
    doc: docText(raw.docs.length > 0 ? raw.docs : (domains.get(domain)?.docs ?? [])),
    label: oneLine(raw.label ?? domains.get(domain)?.label),
    bitOctet: -1,
    bitMask: 0,
  };
}

/** Number the packed octets of consecutive bits: first bit in the lowest bit. */
function layoutBits(fields: FieldModel[]): void {
  let octet = -1;
  let bit = 8;
  let previousWasBit = false;
  for (const f of fields) {
    if (f.wireType !== 'bit') {
      previousWasBit = false;
      continue;
    }
    if (!previousWasBit || bit === 8) {
      octet++;
      bit = 0;
    }
    f.bitOctet = octet;
    f.bitMask = 1 << bit;
    bit++;
    previousWasBit = true;
  }
}

function checkUnique<T>(items: readonly T[], key: (t: T) => string | number, file: (t: T) => string, what: (t: T) => string): void {
  const seen = new Map<string | number, T>();
  for (const item of items) {
    const k = key(item);
    const prior = seen.get(k);
    if (prior !== undefined) throw new SpecError(file(item), `${what(item)} duplicates ${what(prior)} (${String(k)}, in ${file(prior)})`);
    seen.set(k, item);
  }
}

function constantModel(c: RawConstant): ConstantModel {
  if (!/^\d+$/.test(c.value)) throw new SpecError(c.file, `constant ${c.name}: value '${c.value}' is not a number`);
  const isReplyCode = c.class === 'soft-error' || c.class === 'hard-error' || c.name.startsWith('reply-');
  return {
    specName: c.name,
    constName: upperSnake(c.name),
    value: Number(c.value),
    errorClass: c.class,
    isReplyCode,
    doc: docText(c.docs),
  };
}

function direction(raw: RawMethod, fullName: string): Direction {
  const unknown = raw.chassis.find((c) => c.name !== 'client' && c.name !== 'server');
  if (unknown) throw new SpecError(raw.file, `method ${fullName}: unknown chassis '${unknown.name}' (expected client or server)`);
  const toServer = raw.chassis.some((c) => c.name === 'server');
  const toClient = raw.chassis.some((c) => c.name === 'client');
  if (toServer && toClient) return 'both';
  if (toServer) return 'client-to-server';
  if (toClient) return 'server-to-client';
  throw new SpecError(raw.file, `method ${fullName} has no <chassis name="client|server">: say which peer receives it`);
}

function methodModel(cls: ClassModel, raw: RawMethod, domains: ReadonlyMap<string, RawDomain>): MethodModel {
  const fullName = `${cls.specName}.${raw.name}`;
  const index = intAttr(raw.index, raw.file, `method ${fullName}`, 0xffff);
  const fields = raw.fields.map((f) => fieldModel(f, `${fullName}.${f.name}`, domains, false));
  checkUnique(fields.filter((f) => !f.reserved), (f) => f.name, () => raw.file, (f) => `field ${f.path}`);
  layoutBits(fields);
  return {
    classModel: cls,
    specName: raw.name,
    fullName,
    typeName: cls.typeName + pascal(raw.name),
    constName: upperSnake(cls.specName, raw.name),
    index,
    id: cls.index * 0x10000 + index,
    synchronous: raw.synchronous,
    hasContent: raw.content,
    responses: [],
    responseNames: raw.responses,
    receivers: raw.chassis.map((c) => c.name),
    direction: direction(raw, fullName),
    fields,
    doc: docText(raw.docs),
    label: oneLine(raw.label),
  };
}

function classModel(raw: RawClass, domains: ReadonlyMap<string, RawDomain>): ClassModel {
  const cls: ClassModel = {
    specName: raw.name,
    typeName: pascal(raw.name),
    index: intAttr(raw.index, raw.file, `class ${raw.name}`, 0xffff),
    doc: docText(raw.docs),
    label: oneLine(raw.label),
    methods: [],
    properties: [],
  };
  cls.methods = raw.methods.map((m) => methodModel(cls, m, domains));
  checkUnique(cls.methods, (m) => m.index, (m) => raw.methods.find((r) => r.name === m.specName)!.file, (m) => `method ${m.fullName}`);
  checkUnique(cls.methods, (m) => m.specName, () => raw.file, (m) => `method ${m.fullName}`);
  for (const m of cls.methods) {
    m.responses = m.responseNames.map((name) => {
      const target = cls.methods.find((o) => o.specName === name);
      const file = raw.methods.find((r) => r.name === m.specName)!.file;
      if (!target) throw new SpecError(file, `method ${m.fullName}: response '${name}' is not a method of class ${cls.specName}`);
      return target;
    });
  }
  cls.properties = raw.fields.map((f, i) => {
    const p = fieldModel(f, `${raw.name}.properties.${f.name}`, domains, true);
    if (p.wireType === 'bit') throw new SpecError(f.file, `${p.path}: bit properties are not supported (presence is the flag)`);
    // Each flag word carries 15 properties (bit 15 first); bit 0 says another word follows.
    return { ...p, reserved: false, flagWord: Math.floor(i / 15), flagBit: 1 << (15 - (i % 15)) };
  });
  return cls;
}

/** Build and check the model of a merged spec. */
export function buildModel(spec: RawSpec, inputs: string[]): Model {
  checkUnique(spec.domains, (d) => d.name, (d) => d.file, (d) => `domain ${d.name}`);
  const domains = new Map(spec.domains.map((d) => [d.name, d]));
  checkUnique(spec.constants, (c) => c.name, (c) => c.file, (c) => `constant ${c.name}`);
  const constants = spec.constants.map(constantModel);
  const classes = spec.classes.map((c) => classModel(c, domains));
  checkUnique(classes, (c) => c.index, (c) => spec.classes.find((r) => r.name === c.specName)!.file, (c) => `class ${c.specName}`);
  return { inputs, constants, classes, methods: classes.flatMap((c) => c.methods) };
}
