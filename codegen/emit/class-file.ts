// One file per AMQP class: for each method its id constant, its interface,
// a straight-line encoder and a decoder; for the basic class also the
// content properties and their codec.

import { StructureKind, VariableDeclarationKind, type CodeBlockWriter, type Project } from 'ts-morph';
import type { ClassModel, FieldModel, MethodModel, PropertyModel } from '../model.js';
import { docs, header, hex, importStatement, lineComments, memberDocs, quote, render, type EmitOptions, type Statement } from './common.js';

/** Reader method and Writer method per wire type (bits are handled apart). */
const READ: Record<string, string> = {
  octet: 'u8',
  short: 'u16',
  long: 'u32',
  longlong: 'u64',
  shortstr: 'shortstr',
  longstr: 'longstr',
  timestamp: 'timestamp',
  table: 'table',
};

/** How a reserved field of each wire type is written: its zero value. */
const RESERVED_WRITE: Record<string, string> = {
  octet: 'w.u8(0)',
  short: 'w.u16(0)',
  long: 'w.u32(0)',
  longlong: 'w.u64(0, ${path})',
  shortstr: 'w.u8(0)',
  longstr: 'w.u32(0)',
  timestamp: 'w.u64(0, ${path})',
  table: 'w.u32(0)',
};

function readCall(f: FieldModel): string {
  const method = f.tsType === 'Buffer' ? 'longstrBytes' : READ[f.wireType]!;
  return `r.${method}(${quote(f.path)})`;
}

function fieldDoc(f: FieldModel): string {
  const kind = f.domain === f.wireType ? f.wireType : `${f.domain}, ${f.wireType}`;
  const head = `Spec: ${f.specName} (${kind})${f.label ? `: ${f.label}.` : '.'}`;
  return f.doc ? `${head}\n\n${f.doc}` : head;
}

const visible = (m: MethodModel): FieldModel[] => m.fields.filter((f) => !f.reserved);

/** The packed octets of a method: each a list of its bit fields. */
function bitOctets(m: MethodModel): FieldModel[][] {
  const octets: FieldModel[][] = [];
  for (const f of m.fields) if (f.wireType === 'bit') (octets[f.bitOctet] ??= []).push(f);
  return octets;
}

const SENT_BY: Readonly<Record<MethodModel['direction'], string>> = {
  'client-to-server': 'Sent by the client to the server.',
  'server-to-client': 'Sent by the server to the client.',
  both: 'Sent by either peer.',
};

function methodInterface(m: MethodModel): Statement {
  return {
    kind: StructureKind.Interface,
    name: m.typeName,
    isExported: true,
    docs: docs(`${m.fullName}${m.label ? `: ${m.label}` : ''}. ${SENT_BY[m.direction]}`, m.doc),
    properties: visible(m).map((f) => ({ name: f.name, type: f.tsType, docs: memberDocs(fieldDoc(f)) })),
  };
}

function writeEncoderBody(w: CodeBlockWriter, m: MethodModel): void {
  w.writeLine(`w.u32(${m.constName});`);
  const octets = bitOctets(m);
  for (const f of m.fields) {
    if (f.wireType === 'bit') {
      if (f !== octets[f.bitOctet]![0]) continue;
      const terms = octets[f.bitOctet]!.filter((b) => !b.reserved).map((b) => `(m.${b.name} ? ${b.bitMask} : 0)`);
      const names = octets[f.bitOctet]!.map((b) => b.specName).join(', ');
      w.writeLine(`w.u8(${terms.length ? terms.join(' | ') : '0'}); // ${names}`);
    } else if (f.reserved) {
      w.writeLine(`${RESERVED_WRITE[f.wireType]!.replace('${path}', quote(f.path))}; // ${f.specName}`);
    } else {
      const method = READ[f.wireType]!;
      w.writeLine(`w.${method}(m.${f.name}, ${quote(f.path)});`);
    }
  }
}

function writeDecoderBody(w: CodeBlockWriter, m: MethodModel): void {
  const octets = bitOctets(m);
  for (const f of m.fields) {
    if (f.wireType === 'bit') {
      const octet = octets[f.bitOctet]!;
      if (f !== octet[0]) continue;
      const allowed = octet.reduce((mask, b) => mask | b.bitMask, 0);
      const v = `bits${f.bitOctet}`;
      w.writeLine(`const ${v} = r.u8(${quote(f.path)});`);
      if (allowed !== 0xff) {
        w.writeLine(`if ((${v} & ${hex(0xff & ~allowed, 2)}) !== 0) {`);
        w.indent(() => w.writeLine(`throw new FrameError(\`${m.fullName}: invalid bit pattern 0x\${${v}.toString(16)}\`);`));
        w.writeLine('}');
      }
    } else if (f.reserved) {
      w.writeLine(`${readCall(f)}; // ${f.specName}`);
    } else {
      w.writeLine(`const ${f.local} = ${readCall(f)};`);
    }
  }
  const props = visible(m).map((f) => {
    if (f.wireType === 'bit') return `${f.name}: (bits${f.bitOctet} & ${f.bitMask}) !== 0`;
    return f.local === f.name ? f.name : `${f.name}: ${f.local}`;
  });
  if (props.length === 0) w.writeLine('return {};');
  else if (props.join(', ').length < 70) w.writeLine(`return { ${props.join(', ')} };`);
  else {
    w.writeLine('return {');
    w.indent(() => props.forEach((p) => w.writeLine(`${p},`)));
    w.writeLine('};');
  }
}

function methodStatements(m: MethodModel): Statement[] {
  const hasFields = visible(m).length > 0;
  return [
    {
      kind: StructureKind.VariableStatement,
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: docs(`${m.fullName}: class ${m.classModel.index}, method ${m.index}.`),
      declarations: [{ name: m.constName, initializer: hex(m.id, 8) }],
    },
    methodInterface(m),
    {
      kind: StructureKind.Function,
      name: `encode${m.typeName}`,
      isExported: true,
      docs: docs(`Write ${m.fullName} (method id and arguments) at the writer's position.`),
      parameters: hasFields ? [{ name: 'w', type: 'Writer' }, { name: 'm', type: m.typeName }] : [{ name: 'w', type: 'Writer' }],
      returnType: 'void',
      statements: (w) => writeEncoderBody(w, m),
    },
    {
      kind: StructureKind.Function,
      name: `decode${m.typeName}`,
      isExported: true,
      docs: docs(
        m.fields.length > 0
          ? `Read the arguments of ${m.fullName}; the reader is just past the method id.`
          : `The arguments of ${m.fullName}: it has none, so there is nothing to read.`,
      ),
      // A method without arguments takes no reader (noUnusedParameters).
      parameters: m.fields.length > 0 ? [{ name: 'r', type: 'Reader' }] : [],
      returnType: m.typeName,
      statements: (w) => writeDecoderBody(w, m),
    },
  ];
}

function propertyDoc(p: PropertyModel): string {
  return fieldDoc(p);
}

function propertyStatements(c: ClassModel): Statement[] {
  const props = c.properties;
  const words = Math.ceil(props.length / 15);
  const typeName = `${c.typeName}Properties`;
  const members = props.map((p) => ({ name: p.name, type: p.tsType, hasQuestionToken: true, docs: memberDocs(propertyDoc(p)) }));
  const flagVar = (k: number) => `flags${k}`;
  return [
    // The properties are declared once, on the class (declared fields give every
    // decoded instance the same shape); the publish-side type is derived from it.
    {
      kind: StructureKind.TypeAlias,
      name: `${typeName}Init`,
      isExported: true,
      docs: docs(
        `The content properties of a ${c.specName} message, as given to publish: every one optional. The members are those of ${typeName}, documented there.`,
      ),
      type: `Partial<${typeName}>`,
    },
    {
      kind: StructureKind.Class,
      name: typeName,
      isExported: true,
      docs: docs(
        `The content properties of a ${c.specName} message: received (absent properties are undefined, their flag bit was clear), or given to publish as ${typeName}Init.`,
      ),
      properties: members,
    },
    {
      kind: StructureKind.Function,
      name: `encode${typeName}`,
      isExported: true,
      docs: docs(
        `Write the property-flag word(s) and the present properties of a ${c.specName} content header (after class id, weight and body size).`,
      ),
      parameters: [{ name: 'w', type: 'Writer' }, { name: 'p', type: `${typeName}Init | undefined` }],
      returnType: 'void',
      statements: (w) => {
        w.writeLine('if (p === undefined) {');
        w.indent(() => {
          for (let k = 0; k < words; k++) w.writeLine(`w.u16(${k < words - 1 ? 1 : 0});`);
          w.writeLine('return;');
        });
        w.writeLine('}');
        for (let k = 0; k < words; k++) w.writeLine(`let ${flagVar(k)} = ${k < words - 1 ? 1 : 0};`);
        for (const p of props) w.writeLine(`if (p.${p.name} !== undefined) ${flagVar(p.flagWord)} |= ${hex(p.flagBit, 4)};`);
        for (let k = 0; k < words; k++) w.writeLine(`w.u16(${flagVar(k)});`);
        for (const p of props) {
          w.writeLine(`if (p.${p.name} !== undefined) w.${READ[p.wireType]!}(p.${p.name}, ${quote(p.path)});`);
        }
      },
    },
    {
      kind: StructureKind.Function,
      name: `decode${typeName}`,
      isExported: true,
      docs: docs(`Read the property-flag word(s) and the present properties of a ${c.specName} content header.`),
      parameters: [{ name: 'r', type: 'Reader' }],
      returnType: typeName,
      statements: (w) => {
        for (let k = 0; k < words; k++) {
          const path = quote(`${c.specName}.properties.flags`);
          const read = k === 0 ? `r.u16(${path})` : `(${flagVar(k - 1)} & 1) !== 0 ? r.u16(${path}) : 0`;
          w.writeLine(`const ${flagVar(k)} = ${read};`);
          // Bit 0 is the continuation bit, allowed in every word.
          const used = props.filter((p) => p.flagWord === k).reduce((m, p) => m | p.flagBit, 0) | 1;
          const unknown = 0xffff & ~used;
          if (unknown !== 0) {
            w.writeLine(`if ((${flagVar(k)} & ${hex(unknown, 4)}) !== 0) {`);
            w.indent(() =>
              w.writeLine(
                `throw new FrameError(\`${c.specName} properties: unknown property flags 0x\${${flagVar(k)}.toString(16)}\`);`,
              ),
            );
            w.writeLine('}');
          }
        }
        // A peer may send further (empty) flag words; any flag in them is a property we do not know.
        w.writeLine(`let more = ${flagVar(words - 1)} & 1;`);
        w.writeLine('while (more !== 0) {');
        w.indent(() => {
          w.writeLine(`const extra = r.u16(${quote(`${c.specName}.properties.flags`)});`);
          w.writeLine('if ((extra & 0xfffe) !== 0) {');
          w.indent(() =>
            w.writeLine(`throw new FrameError(\`${c.specName} properties: unknown property flags 0x\${extra.toString(16)}\`);`),
          );
          w.writeLine('}');
          w.writeLine('more = extra & 1;');
        });
        w.writeLine('}');
        w.writeLine(`const p = new ${typeName}();`);
        for (const p of props) {
          w.writeLine(`if ((${flagVar(p.flagWord)} & ${hex(p.flagBit, 4)}) !== 0) p.${p.name} = ${readCall(p)};`);
        }
        w.writeLine('return p;');
      },
    },
  ];
}

/** Every wire-primitive name a class file uses. */
function imports(c: ClassModel): string[] {
  const fields = [...c.methods.flatMap((m) => m.fields), ...c.properties];
  const needsFrameError =
    c.properties.length > 0 ||
    c.methods.some((m) => bitOctets(m).some((o) => o.reduce((mask, b) => mask | b.bitMask, 0) !== 0xff));
  const reads = c.properties.length > 0 || c.methods.some((m) => m.fields.length > 0);
  const names = reads ? ['type Reader', 'type Writer'] : ['type Writer'];
  if (needsFrameError) names.unshift('FrameError');
  if (fields.some((f) => f.tsType === 'FieldTable')) names.push('type FieldTable');
  return names;
}

export function emitClassFile(project: Project, c: ClassModel, opts: EmitOptions): string {
  const statements: Statement[] = [
    (w) => {
      w.writeLine(header(opts)).blankLine();
      w.writeLine(importStatement(imports(c), opts.wireImport)).blankLine();
      for (const line of lineComments(`Class ${c.specName} (${c.index})${c.label ? `: ${c.label}` : ''}.`)) w.writeLine(line);
      if (c.doc) for (const line of lineComments(c.doc)) w.writeLine(line);
      w.blankLine();
    },
  ];
  for (const m of c.methods) statements.push(...methodStatements(m));
  if (c.properties.length > 0) statements.push(...propertyStatements(c));
  return render(project, `${c.specName}.ts`, statements);
}
