// The codegen command line, and the only codegen file that touches the disk
// (main.ts runs it as a process; tests call runCli in-process).
//   npm run codegen          regenerate generated/
//   npm run codegen:check    generate into a temporary folder and fail, listing
//                            the files, if generated/ differs from it
//
// Options: --spec FILE, --extensions DIR, --out DIR (defaults: the project's).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecError } from './errors.js';
import { generate, type SpecInput } from './generate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function option(args: readonly string[], name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? path.resolve(args[at + 1]!) : path.join(root, fallback);
}

function input(file: string): SpecInput {
  return { name: path.relative(root, file).split(path.sep).join('/'), text: readFileSync(file, 'utf8') };
}

/** Where the command line's messages go: the console, or a test's buffers. */
export interface CliOutput {
  log(message: string): void;
  error(message: string): void;
}

function run(args: readonly string[], out: CliOutput): number {
  const check = args.includes('--check');
  const specFile = option(args, '--spec', 'spec/amqp0-9-1.xml');
  const extDir = option(args, '--extensions', 'spec/extensions');
  const outDir = option(args, '--out', 'generated');
  const extensions = existsSync(extDir)
    ? readdirSync(extDir)
        .filter((f) => f.endsWith('.xml'))
        .sort()
        .map((f) => input(path.join(extDir, f)))
    : [];
  const files = generate({ base: input(specFile), extensions });
  const existing = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.ts')) : [];

  if (check) {
    // Generate into a scratch folder, then compare it with generated/ file by file.
    const scratch = mkdtempSync(path.join(tmpdir(), 'amqp091-codegen-'));
    const problems: string[] = [];
    try {
      for (const [name, text] of files) writeFileSync(path.join(scratch, name), text);
      for (const name of files.keys()) {
        const file = path.join(outDir, name);
        if (!existsSync(file)) problems.push(`missing: ${name}`);
        else if (!readFileSync(file).equals(readFileSync(path.join(scratch, name)))) problems.push(`differs: ${name}`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    for (const name of existing) if (!files.has(name)) problems.push(`stale (not generated): ${name}`);
    if (problems.length > 0) {
      out.error(`generated/ is out of date or hand-edited; run \`npm run codegen\`:\n  ${problems.join('\n  ')}`);
      return 1;
    }
    out.log(`generated/ is current (${files.size} files).`);
    return 0;
  }

  mkdirSync(outDir, { recursive: true });
  for (const name of existing) if (!files.has(name)) rmSync(path.join(outDir, name));
  for (const [name, text] of files) writeFileSync(path.join(outDir, name), text);
  out.log(`wrote ${files.size} files to ${path.relative(process.cwd(), outDir) || '.'}`);
  return 0;
}

/** Run the command line with `args` (without node and script); returns the exit code. */
export function runCli(args: readonly string[], out: CliOutput = console): number {
  try {
    return run(args, out);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    out.error(`codegen: ${err.message}`);
    return 1;
  }
}
