// Stage 2: merge overlay files (spec/extensions/*.xml, in name order) over
// the base spec. Pure: raw objects in, a new raw spec out. Overlay rules
// are described at the top of spec/extensions/rabbitmq.xml.

import { SpecError } from './errors.js';
import type { RawClass, RawMethod, RawSpec } from './parse.js';

/** Compare two raw items by content, ignoring which file they came from. */
function sameDefinition(a: object, b: object): boolean {
  const strip = (_k: string, v: unknown) => (_k === 'file' ? undefined : v);
  return JSON.stringify(a, strip) === JSON.stringify(b, strip);
}

function clash(what: string, a: { file: string }, b: { file: string }, detail: string): never {
  throw new SpecError(b.file, `${what} clashes with its definition in ${a.file}: ${detail}`);
}

function patchMethod(cls: RawClass, base: RawMethod, patch: RawMethod): RawMethod {
  const where = `${cls.name}.${patch.name}`;
  if (patch.content) {
    throw new SpecError(patch.file, `${where}: a patch (method without index) may only add chassis, responses and replace fields`);
  }
  if ((patch.synchronous || patch.responses.length > 0) && (base.synchronous || base.responses.length > 0)) {
    throw new SpecError(patch.file, `${where}: a patch may make a method synchronous only where the base says nothing`);
  }
  const fields = [...base.fields];
  for (const f of patch.fields) {
    if (!f.replaces) {
      throw new SpecError(patch.file, `${where}.${f.name}: a patched method's field needs replaces = "<base field>"`);
    }
    const at = fields.findIndex((b) => b.name === f.replaces);
    if (at < 0) throw new SpecError(patch.file, `${where}.${f.name}: replaces unknown field '${f.replaces}'`);
    fields[at] = { ...f, replaces: undefined };
  }
  const chassis = [...base.chassis];
  for (const c of patch.chassis) {
    if (!chassis.some((b) => b.name === c.name)) chassis.push(c);
  }
  const synchronous = base.synchronous || patch.synchronous;
  const responses = [...base.responses, ...patch.responses];
  return { ...base, synchronous, responses, fields, chassis, docs: [...base.docs, ...patch.docs] };
}

function mergeClass(base: RawClass, overlay: RawClass): RawClass {
  if (overlay.index !== undefined && overlay.index !== base.index) {
    clash(`class ${overlay.name}`, base, overlay, `index ${overlay.index} vs ${base.index ?? '(none)'}`);
  }
  if (overlay.fields.length > 0) {
    throw new SpecError(overlay.file, `class ${overlay.name}: an overlay cannot add content properties to an existing class`);
  }
  const methods = [...base.methods];
  for (const m of overlay.methods) {
    const at = methods.findIndex((b) => b.name === m.name);
    if (m.index === undefined) {
      if (at < 0) throw new SpecError(m.file, `${base.name}.${m.name}: patches a method the base does not have`);
      methods[at] = patchMethod(base, methods[at]!, m);
      continue;
    }
    if (at >= 0) {
      const existing = methods[at]!;
      if (!sameDefinition(existing, m)) clash(`${base.name}.${m.name}`, existing, m, 'a different definition');
      continue;
    }
    const sameIndex = methods.find((b) => b.index === m.index);
    if (sameIndex) clash(`${base.name}.${m.name}`, sameIndex, m, `method index ${m.index} is ${base.name}.${sameIndex.name}`);
    methods.push(m);
  }
  return { ...base, methods, chassis: [...base.chassis, ...overlay.chassis.filter((c) => !base.chassis.some((b) => b.name === c.name))] };
}

/** Merge `overlays` (already in file-name order) over `base`. */
export function extend(base: RawSpec, overlays: readonly RawSpec[]): RawSpec {
  const constants = [...base.constants];
  const domains = [...base.domains];
  const classes = [...base.classes];
  for (const o of overlays) {
    for (const c of o.constants) {
      const existing = constants.find((b) => b.name === c.name);
      if (!existing) constants.push(c);
      else if (existing.value !== c.value || existing.class !== c.class) {
        clash(`constant ${c.name}`, existing, c, `value ${c.value} vs ${existing.value}`);
      }
    }
    for (const d of o.domains) {
      const existing = domains.find((b) => b.name === d.name);
      if (!existing) domains.push(d);
      else if (existing.type !== d.type) clash(`domain ${d.name}`, existing, d, `type ${d.type} vs ${existing.type}`);
    }
    for (const c of o.classes) {
      const at = classes.findIndex((b) => b.name === c.name);
      if (at >= 0) {
        classes[at] = mergeClass(classes[at]!, c);
        continue;
      }
      const sameIndex = classes.find((b) => b.index === c.index);
      if (sameIndex) clash(`class ${c.name}`, sameIndex, c, `class index ${c.index} is class ${sameIndex.name}`);
      classes.push(c);
    }
  }
  return { file: base.file, constants, domains, classes };
}
