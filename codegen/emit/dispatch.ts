// dispatch.ts: the typed registry of every method — (class, method) id →
// decoder, names, and per-method facts (sync, responses, content) — and
// the discriminated union src/ switches on. index.ts re-exports it all.

import { StructureKind, VariableDeclarationKind, type Project } from 'ts-morph';
import type { Model } from '../model.js';
import { classImport, docs, header, importStatement, memberDocs, methodRef, quote, render, type EmitOptions, type Statement } from './common.js';

export function emitDispatch(project: Project, model: Model, opts: EmitOptions): string {
  const statements: Statement[] = [(w) => w.writeLine(header(opts)).blankLine()];
  statements.push(importStatement(['FrameError', 'type Reader'], opts.wireImport));
  for (const c of model.classes) statements.push(classImport(c).statement);
  statements.push({
    kind: StructureKind.Interface,
    name: 'MethodArgs',
    isExported: true,
    docs: docs('The arguments type of every method, by method id.'),
    properties: model.methods.map((m) => ({ name: `[${methodRef(m, m.constName)}]`, type: methodRef(m, m.typeName) })),
  });
  statements.push({
    kind: StructureKind.TypeAlias,
    name: 'MethodId',
    isExported: true,
    docs: docs('The id (class << 16 | method) of a method the spec defines.'),
    type: 'keyof MethodArgs',
  });
  statements.push({
    kind: StructureKind.TypeAlias,
    name: 'IncomingMethod',
    isExported: true,
    docs: docs('A decoded method: switch on `id` and `args` has that method\'s type.'),
    type: '{ [K in MethodId]: { id: K; args: MethodArgs[K] } }[MethodId]',
  });
  statements.push({
    kind: StructureKind.Interface,
    name: 'MethodInfo',
    isExported: true,
    docs: docs('What the spec says of a method.'),
    properties: [
      { name: 'classId', type: 'number', isReadonly: true },
      { name: 'methodId', type: 'number', isReadonly: true },
      { name: 'name', type: 'string', isReadonly: true, docs: memberDocs("e.g. 'basic.publish'") },
      { name: 'synchronous', type: 'boolean', isReadonly: true, docs: memberDocs('Whether the sender waits for one of `responses`.') },
      { name: 'responses', type: 'readonly MethodId[]', isReadonly: true },
      { name: 'hasContent', type: 'boolean', isReadonly: true, docs: memberDocs('Whether a content header and body frames follow.') },
      {
        name: 'direction',
        type: "'client-to-server' | 'server-to-client' | 'both'",
        isReadonly: true,
        docs: memberDocs("Who sends it, from the spec's <chassis> elements (a chassis names the peer that receives it)."),
      },
    ],
  });
  statements.push({
    kind: StructureKind.VariableStatement,
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: docs('Facts about every method, by method id.'),
    declarations: [
      {
        name: 'METHOD_INFO',
        type: 'Readonly<Record<MethodId, MethodInfo>>',
        initializer: (w) => {
          // The writer is already indented one level inside the declaration.
          w.write('{').newLine();
          for (const m of model.methods) {
            const responses = `[${m.responses.map((r) => methodRef(r, r.constName)).join(', ')}]`;
            w.writeLine(`[${methodRef(m, m.constName)}]: {`);
            w.indent(() => {
              w.writeLine(`classId: ${m.classModel.index}, methodId: ${m.index}, name: ${quote(m.fullName)},`);
              w.writeLine(`synchronous: ${m.synchronous}, responses: ${responses}, hasContent: ${m.hasContent},`);
              w.writeLine(`direction: ${quote(m.direction)},`);
            });
            w.writeLine('},');
          }
          w.write('}');
        },
      },
    ],
  });
  statements.push({
    kind: StructureKind.Function,
    name: 'methodName',
    isExported: true,
    docs: docs("The spec name of a method id, e.g. 'basic.publish', or 'class C method M' for an unknown id."),
    parameters: [{ name: 'id', type: 'number' }],
    returnType: 'string',
    statements: (w) => {
      w.writeLine('const info = (METHOD_INFO as Record<number, MethodInfo | undefined>)[id];');
      w.writeLine('return info ? info.name : `class ${id >>> 16} method ${id & 0xffff}`;');
    },
  });
  statements.push({
    kind: StructureKind.Function,
    name: 'decodeMethod',
    isExported: true,
    docs: docs(
      'Decode a method frame\'s payload (method id, then arguments). Throws FrameError: 503 for a method the spec does not define, 501 for bytes left over after the arguments.',
    ),
    parameters: [{ name: 'r', type: 'Reader' }],
    returnType: 'IncomingMethod',
    statements: (w) => {
      w.writeLine("const id = r.u32('method id');");
      w.writeLine('let m: IncomingMethod;');
      w.writeLine('switch (id) {');
      w.indent(() => {
        for (const m of model.methods) {
          w.writeLine(`case ${methodRef(m, m.constName)}:`);
          w.indent(() => {
            const decode = methodRef(m, `decode${m.typeName}`);
            w.writeLine(`m = { id: ${methodRef(m, m.constName)}, args: ${decode}(${m.fields.length > 0 ? 'r' : ''}) };`);
            w.writeLine('break;');
          });
        }
        w.writeLine('default:');
        w.indent(() => w.writeLine('throw new FrameError(`unknown method: class ${id >>> 16}, method ${id & 0xffff}`, 503);'));
      });
      w.writeLine('}');
      w.writeLine('if (r.pos !== r.end) {');
      w.indent(() =>
        w.writeLine('throw new FrameError(`${METHOD_INFO[m.id].name}: ${r.end - r.pos} bytes left over after the arguments`);'),
      );
      w.writeLine('}');
      w.writeLine('return m;');
    },
  });
  return render(project, 'dispatch.ts', statements);
}

export function emitIndex(project: Project, model: Model, opts: EmitOptions): string {
  const statements: Statement[] = [(w) => w.writeLine(header(opts)).blankLine(), "export * from './constants.js';"];
  for (const c of model.classes) statements.push(`export * from './${c.specName}.js';`);
  statements.push("export * from './dispatch.js';");
  statements.push("export * from './requests.js';");
  return render(project, 'index.ts', statements);
}
