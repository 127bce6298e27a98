// requests.ts: for each synchronous method, its encoder and the type of
// its replies, so that src/ sends any request through one data-driven
// function (RpcQueue.request) instead of a hand-written body per method.

import { StructureKind, VariableDeclarationKind, type Project } from 'ts-morph';
import type { Model } from '../model.js';
import { classImport, docs, header, methodRef, render, type EmitOptions, type Statement } from './common.js';

export function emitRequests(project: Project, model: Model, opts: EmitOptions): string {
  const requests = model.methods.filter((m) => m.synchronous && m.responses.length > 0);
  const classes = model.classes.filter((c) => requests.some((m) => m.classModel === c));
  const statements: Statement[] = [(w) => w.writeLine(header(opts)).blankLine()];
  statements.push(`import type { Writer } from '${opts.wireImport}';`);
  statements.push("import type { MethodArgs } from './dispatch.js';");
  for (const c of classes) statements.push(classImport(c).statement);
  const ref = methodRef;
  statements.push({
    kind: StructureKind.Interface,
    name: 'MethodReplies',
    isExported: true,
    docs: docs('The reply of each synchronous method, by method id (a union where the spec allows several).'),
    properties: requests.map((m) => ({
      name: `[${ref(m, m.constName)}]`,
      type: m.responses.map((r) => `{ id: typeof ${ref(r, r.constName)}; args: ${ref(r, r.typeName)} }`).join(' | '),
    })),
  });
  statements.push({
    kind: StructureKind.TypeAlias,
    name: 'RequestId',
    isExported: true,
    docs: docs('The id of a method that waits for a reply.'),
    type: 'keyof MethodReplies',
  });
  statements.push({
    kind: StructureKind.VariableStatement,
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: docs('The encoder of each synchronous method, by method id.'),
    declarations: [
      {
        name: 'REQUEST_ENCODERS',
        type: '{ readonly [K in RequestId]: (w: Writer, args: MethodArgs[K]) => void }',
        initializer: (w) => {
          w.write('{').newLine();
          for (const m of requests) w.writeLine(`[${ref(m, m.constName)}]: ${ref(m, `encode${m.typeName}`)},`);
          w.write('}');
        },
      },
    ],
  });
  return render(project, 'requests.ts', statements);
}
