// Stage 1: XML text → raw objects shaped like the XML. Decides nothing:
// values stay strings, names stay spec names; every item remembers the file
// it came from so later stages can name it in errors.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SpecError } from './errors.js';

export interface RawDoc {
  type: string | undefined;
  text: string;
}

export interface RawField {
  name: string;
  domain: string | undefined;
  type: string | undefined;
  reserved: boolean;
  /** Overlay only: the base field this one takes the place of. */
  replaces: string | undefined;
  label: string | undefined;
  docs: RawDoc[];
  file: string;
}

export interface RawChassis {
  name: string;
  implement: string;
}

export interface RawMethod {
  name: string;
  index: string | undefined;
  synchronous: boolean;
  content: boolean;
  label: string | undefined;
  docs: RawDoc[];
  chassis: RawChassis[];
  responses: string[];
  fields: RawField[];
  file: string;
}

export interface RawClass {
  name: string;
  index: string | undefined;
  handler: string | undefined;
  label: string | undefined;
  docs: RawDoc[];
  chassis: RawChassis[];
  /** Content properties (only the basic class has them). */
  fields: RawField[];
  methods: RawMethod[];
  file: string;
}

export interface RawConstant {
  name: string;
  value: string;
  class: string | undefined;
  docs: RawDoc[];
  file: string;
}

export interface RawDomain {
  name: string;
  type: string;
  label: string | undefined;
  docs: RawDoc[];
  file: string;
}

export interface RawSpec {
  file: string;
  constants: RawConstant[];
  domains: RawDomain[];
  classes: RawClass[];
}

const REPEATED = new Set(['constant', 'domain', 'class', 'method', 'field', 'chassis', 'response', 'doc', 'rule', 'assert']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  trimValues: false,
  parseAttributeValue: false,
  parseTagValue: false,
  // Repeated elements are always arrays, attributes never are.
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && REPEATED.has(name),
});

type XmlNode = Record<string, unknown>;

function nodes(parent: XmlNode, tag: string): XmlNode[] {
  const v = parent[tag];
  if (v === undefined) return [];
  return (v as unknown[]).map((n) => (typeof n === 'string' ? { '#text': n } : (n as XmlNode)));
}

function attr(node: XmlNode, name: string): string | undefined {
  const v = node[`@${name}`];
  return typeof v === 'string' ? v.trim() : undefined;
}

function required(node: XmlNode, name: string, file: string, what: string): string {
  const v = attr(node, name);
  if (v === undefined || v === '') throw new SpecError(file, `${what} has no '${name}' attribute`);
  return v;
}

function docs(node: XmlNode): RawDoc[] {
  return nodes(node, 'doc').map((d) => ({ type: attr(d, 'type'), text: String(d['#text'] ?? '') }));
}

function field(node: XmlNode, file: string, owner: string): RawField {
  const name = required(node, 'name', file, `a field of ${owner}`);
  return {
    name,
    domain: attr(node, 'domain'),
    type: attr(node, 'type'),
    reserved: attr(node, 'reserved') === '1',
    replaces: attr(node, 'replaces'),
    label: attr(node, 'label'),
    docs: docs(node),
    file,
  };
}

function chassis(node: XmlNode): RawChassis[] {
  return nodes(node, 'chassis').map((c) => ({ name: attr(c, 'name') ?? '', implement: attr(c, 'implement') ?? '' }));
}

function method(node: XmlNode, file: string, className: string): RawMethod {
  const name = required(node, 'name', file, `a method of class ${className}`);
  const full = `${className}.${name}`;
  return {
    name,
    index: attr(node, 'index'),
    synchronous: attr(node, 'synchronous') === '1',
    content: attr(node, 'content') === '1',
    label: attr(node, 'label'),
    docs: docs(node),
    chassis: chassis(node),
    responses: nodes(node, 'response').map((r) => required(r, 'name', file, `a response of ${full}`)),
    fields: nodes(node, 'field').map((f) => field(f, file, full)),
    file,
  };
}

/** Parse one spec or overlay file. `file` is used only in error messages. */
export function parseSpec(xml: string, file: string): RawSpec {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new SpecError(file, `malformed XML at line ${line}, column ${col}: ${msg}`);
  }
  const doc = parser.parse(xml) as XmlNode;
  const root = doc['amqp'] as XmlNode | undefined;
  if (!root || typeof root !== 'object') throw new SpecError(file, 'no <amqp> root element');
  return {
    file,
    constants: nodes(root, 'constant').map((c) => ({
      name: required(c, 'name', file, 'a constant'),
      value: required(c, 'value', file, `constant ${attr(c, 'name')}`),
      class: attr(c, 'class'),
      docs: docs(c),
      file,
    })),
    domains: nodes(root, 'domain').map((d) => ({
      name: required(d, 'name', file, 'a domain'),
      type: required(d, 'type', file, `domain ${attr(d, 'name')}`),
      label: attr(d, 'label'),
      docs: docs(d),
      file,
    })),
    classes: nodes(root, 'class').map((c) => {
      const name = required(c, 'name', file, 'a class');
      return {
        name,
        index: attr(c, 'index'),
        handler: attr(c, 'handler'),
        label: attr(c, 'label'),
        docs: docs(c),
        chassis: chassis(c),
        fields: nodes(c, 'field').map((f) => field(f, file, `class ${name}`)),
        methods: nodes(c, 'method').map((m) => method(m, file, name)),
        file,
      };
    }),
  };
}
