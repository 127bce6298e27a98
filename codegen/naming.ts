// Spec names → TypeScript names, in one place.

const words = (specName: string): string[] => specName.split(/[-\s_]+/).filter(Boolean);
const cap = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);

/** `routing-key` → `routingKey` */
export function camel(specName: string): string {
  const [first = '', ...rest] = words(specName);
  return first + rest.map(cap).join('');
}

/** `declare-ok` → `DeclareOk` */
export function pascal(specName: string): string {
  return words(specName).map(cap).join('');
}

/** `content-too-large` → `CONTENT_TOO_LARGE` */
export function upperSnake(...specNames: string[]): string {
  return specNames.flatMap(words).map((w) => w.toUpperCase()).join('_');
}

/**
 * Content properties whose spec names do not make good API names
 * (API.md's Properties): `type` is a reserved-looking word in TS code and
 * RabbitMQ calls the last, reserved property cluster-id.
 */
const PROPERTY_NAMES: Readonly<Record<string, string>> = {
  type: 'messageType',
  reserved: 'clusterId',
};

export function propertyName(specName: string): string {
  return PROPERTY_NAMES[specName] ?? camel(specName);
}

const RESERVED_LOCALS = new Set(['arguments', 'eval', 'default', 'class', 'function', 'delete', 'new', 'this', 'var']);

/** A local variable name for a field (some field names are not legal bindings). */
export function localName(fieldName: string): string {
  return RESERVED_LOCALS.has(fieldName) ? `${fieldName}Value` : fieldName;
}

/**
 * Identifiers the generated files use themselves (locals, parameters) or
 * that JS reserves: a class module imported as a namespace must not take them.
 */
const TAKEN_BY_GENERATED = new Set(['m', 'r', 'w', 'p', 'id', 'info', 'more', 'extra', ...RESERVED_LOCALS, 'import', 'export', 'return']);

/** `basic` → the name generated files import `./basic.js` under (`import * as basic`). */
export function namespaceName(classSpecName: string): string {
  const name = camel(classSpecName);
  return TAKEN_BY_GENERATED.has(name) ? `${name}Class` : name;
}
