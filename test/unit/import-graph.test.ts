// The module graph of src/ and generated/: no import cycles (type-only
// imports and re-exports included), and layers that point one way:
// generated codecs → wire primitives → framing → connection/channel core.
// errors.ts is a leaf that every layer may import.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every relative module a file imports or re-exports, as repo paths ('src/x.ts'). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map((m) => m[1]!);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, '.ts'));
}

const files = [...sources('src'), ...sources('generated')];
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function cycles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return found;
}

describe('module graph', () => {
  it('every relative import names a file that exists', () => {
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${f} → ${d}`));
    expect(missing).toEqual([]);
  });

  it('has no import cycles among src/ and generated/', () => {
    expect(cycles()).toEqual([]);
  });

  it('errors.ts is a leaf: it imports only generated constants', () => {
    expect(graph.get('src/errors.ts')).toEqual(['generated/constants.ts']);
  });

  it('wire primitives import only wire modules and errors; framing nothing from the core', () => {
    const allowed = (from: string, to: string): boolean => {
      if (to === 'src/errors.ts') return true;
      if (from.startsWith('src/wire/')) return to.startsWith('src/wire/');
      return to.startsWith('src/wire/') || to.startsWith('src/framing/') || to.startsWith('generated/');
    };
    const bad = [...graph]
      .filter(([f]) => f.startsWith('src/wire/') || f.startsWith('src/framing/'))
      .flatMap(([f, deps]) => deps.filter((d) => !allowed(f, d)).map((d) => `${f} → ${d}`));
    expect(bad).toEqual([]);
  });

  it('generated code imports only the wire primitives and other generated files', () => {
    const bad = [...graph]
      .filter(([f]) => f.startsWith('generated/'))
      .flatMap(([f, deps]) => deps.filter((d) => d !== 'src/wire/index.ts' && !d.startsWith('generated/')).map((d) => `${f} → ${d}`));
    expect(bad).toEqual([]);
  });

  it('no hand-written module in src/ is longer than 400 lines', () => {
    const long = files
      .filter((f) => f.startsWith('src/'))
      .map((f) => [f, readFileSync(path.join(root, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > 400);
    expect(long).toEqual([]);
  });
});
