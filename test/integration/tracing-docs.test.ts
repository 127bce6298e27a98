// docs/tracing.md stays true: its OpenTelemetry example (the one ```ts
// block) runs as written against the broker (`from 'amqp091'` pointed at
// src/) and prints what the page says it prints (its ```text block).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const page = readFileSync(path.join(root, 'docs/tracing.md'), 'utf8');
const tmp = path.join(root, '.tmp', `tracing-docs-${process.pid}`);

function blocks(lang: string): string[] {
  const out: string[] = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm');
  for (let m = re.exec(page); m; m = re.exec(page)) out.push(m[1]!);
  return out;
}

describe('docs/tracing.md', () => {
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the OpenTelemetry example runs and prints what the page shows: one trace, publish → process → handle', () => {
    const [code] = blocks('ts');
    const [printed] = blocks('text');
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    mkdirSync(tmp, { recursive: true });
    const file = path.join(tmp, 'otel-example.mts');
    const entry = pathToFileURL(path.join(root, 'src/index.ts')).href;
    writeFileSync(file, code!.replaceAll("from 'amqp091'", `from '${entry}'`));
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(printed);
  }, 20_000);
});
