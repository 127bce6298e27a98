// constants.ts: frame types and protocol constants, and every reply code
// with its name, soft/hard class and doc text.

import { StructureKind, VariableDeclarationKind, type Project } from 'ts-morph';
import type { Model } from '../model.js';
import { docs, header, memberDocs, quote, render, type EmitOptions, type Statement } from './common.js';

export function emitConstants(project: Project, model: Model, opts: EmitOptions): string {
  const statements: Statement[] = [(w) => w.writeLine(header(opts)).blankLine()];
  for (const c of model.constants) {
    const kind = c.errorClass ? ` (${c.errorClass})` : '';
    statements.push({
      kind: StructureKind.VariableStatement,
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: docs(`${c.specName}${kind}.`, c.doc),
      declarations: [{ name: c.constName, initializer: String(c.value) }],
    });
  }
  const replyCodes = model.constants.filter((c) => c.isReplyCode);
  statements.push({
    kind: StructureKind.Interface,
    name: 'ReplyCodeInfo',
    isExported: true,
    docs: docs('What the spec says of a reply code.'),
    properties: [
      { name: 'name', type: 'string', isReadonly: true, docs: memberDocs("The spec's name, e.g. 'not-found'.") },
      {
        name: 'errorClass',
        type: "'soft-error' | 'hard-error' | null",
        isReadonly: true,
        docs: memberDocs('Soft errors close the channel, hard errors the connection; null for success.'),
      },
    ],
  });
  statements.push({
    kind: StructureKind.VariableStatement,
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: docs('Every reply code of the spec, by value.'),
    declarations: [
      {
        name: 'REPLY_CODES',
        type: 'ReadonlyMap<number, ReplyCodeInfo>',
        initializer: (w) => {
          // The writer is already indented one level inside the declaration.
          w.write('new Map([').newLine();
          for (const c of replyCodes) {
            w.writeLine(`[${c.constName}, { name: ${quote(c.specName)}, errorClass: ${c.errorClass ? quote(c.errorClass) : 'null'} }],`);
          }
          w.write('])');
        },
      },
    ],
  });
  for (const [name, cls] of [
    ['SOFT_ERRORS', 'soft-error'],
    ['HARD_ERRORS', 'hard-error'],
  ] as const) {
    const members = replyCodes.filter((c) => c.errorClass === cls).map((c) => c.constName);
    statements.push({
      kind: StructureKind.VariableStatement,
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: docs(cls === 'soft-error' ? 'Reply codes that close only the channel.' : 'Reply codes that close the connection.'),
      declarations: [{ name, type: 'ReadonlySet<number>', initializer: `new Set([${members.join(', ')}])` }],
    });
  }
  return render(project, 'constants.ts', statements);
}
