// The published type declarations (built with stripInternal, as `npm run
// build` does) must not let users do what the runtime forbids: a Channel
// is opened with protocol.channel(), never constructed by hand. Compiled
// in-process with the TypeScript API, into memory.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Emit the declarations of src/index.ts as the build does; file name → text. */
function declarations(): Map<string, string> {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.build.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  const options: ts.CompilerOptions = { ...config.options, declaration: true, emitDeclarationOnly: true, noEmit: false, sourceMap: false };
  const out = new Map<string, string>();
  const program = ts.createProgram([path.join(root, 'src/index.ts')], options);
  program.emit(undefined, (file, text) => out.set(path.relative(options.outDir ?? root, file), text));
  return out;
}

/** Diagnostics of `code` type-checked against the emitted declarations. */
function check(decls: Map<string, string>, code: string): string[] {
  const files = new Map([...decls].map(([f, t]) => [path.join('/decl', f), t]));
  files.set('/decl/user.ts', code);
  const options: ts.CompilerOptions = { strict: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, noEmit: true, types: [], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (f) => files.get(f) ?? read(f);
  host.fileExists = (f) => files.has(f) || ts.sys.fileExists(f);
  host.directoryExists = (d) => [...files.keys()].some((f) => f.startsWith(`${d}/`)) || ts.sys.directoryExists(d);
  const program = ts.createProgram(['/decl/user.ts'], options, host);
  return ts
    .getPreEmitDiagnostics(program, program.getSourceFile('/decl/user.ts'))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('published declarations', () => {
  const decls = declarations();

  it('Channel has a private constructor and no internal factory', () => {
    const channel = decls.get('src/channel.d.ts') ?? '';
    expect(channel).toMatch(/private constructor\(\);/);
    expect(channel).not.toMatch(/static create/);
  });

  it('new Channel() does not typecheck for users', () => {
    const errors = check(decls, "import { Channel } from './src/index.js';\nexport const c = new Channel();\n");
    expect(errors.some((e) => /Constructor of class 'Channel' is private/.test(e)), errors.join('\n')).toBe(true);
    // and the same snippet without the constructor call is fine: the check itself works
    expect(check(decls, "import { Channel } from './src/index.js';\nexport const f = (c: Channel): boolean => c.isOpen;\n")).toEqual([]);
  });
}, 120_000);
