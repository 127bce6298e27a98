// The `amqp091` bin as packaged: package.json points at the built entry,
// which keeps its shebang, and the CLI uses the library only through its
// public root, like any user.

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliDir = path.join(root, 'src/cli');

describe('amqp091 bin', () => {
  it('package.json maps amqp091 to the built src/cli/main.ts, which starts with a shebang', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin).toEqual({ amqp091: './dist/src/cli/main.js' });
    expect(pkg.scripts['cli']).toBe('tsx src/cli/main.ts');
    expect(readFileSync(path.join(cliDir, 'main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('src/cli imports the library only through ../index.js, and nothing outside node: built-ins', () => {
    const bad: string[] = [];
    for (const f of readdirSync(cliDir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(cliDir, f), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        const ok = spec.startsWith('node:') || spec === '../index.js' || /^\.\/[\w-]+\.js$/.test(spec);
        if (!ok) bad.push(`${f} → ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
