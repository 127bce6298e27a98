// `amqp091/testing` is a package entry point of its own: package.json maps
// it to what `npm run build` emits from src/testing/index.ts.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as testing from '../../../src/testing/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };

describe('amqp091/testing entry point', () => {
  it('package.json exports ./testing from the built src/testing/index', () => {
    expect(pkg.exports['./testing']).toEqual({ types: './dist/src/testing/index.d.ts', import: './dist/src/testing/index.js' });
    expect(existsSync(path.join(root, 'src/testing/index.ts'))).toBe(true);
  });

  it('exports FakeBroker and the raw `wire` builders, nothing else at runtime', () => {
    expect(Object.keys(testing)).toEqual(['FakeBroker', 'wire']);
    expect(typeof testing.FakeBroker.start).toBe('function');
    expect(typeof testing.wire.methodFrame).toBe('function');
    expect(typeof testing.wire.Reader).toBe('function');
  });

  /** The relative imports and re-exports of every src/testing module, as repo paths. */
  function testingImports(): [file: string, target: string][] {
    const dir = path.join(root, 'src/testing');
    const out: [string, string][] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        if (!spec.startsWith('.')) continue; // node: built-ins
        out.push([f, path.posix.normalize(path.posix.join('src/testing', spec))]);
      }
    }
    return out;
  }

  it('src/testing imports only codecs, wire, framing and errors: never the client core it tests', () => {
    const bad = testingImports()
      .filter(([, target]) => !(/^(src\/testing|src\/wire|src\/framing|generated)\//.test(target) || target === 'src/errors.js'))
      .map(([f, target]) => `${f} → ${target}`);
    expect(bad).toEqual([]);
  });

  it('scripted mode and its raw wire builders import nothing of the client, not even its codecs', () => {
    const raw = ['scripted.ts', 'wire.ts', 'wire-build.ts', 'wire-parse.ts'];
    const bad = testingImports()
      .filter(([f, target]) => raw.includes(f) && !raw.some((r) => target === `src/testing/${r.replace(/\.ts$/, '.js')}`))
      .map(([f, target]) => `${f} → ${target}`);
    expect(bad).toEqual([]);
  });
});
