// Keep the README true: every TypeScript block runs against the broker as
// written (with `from 'amqp091'` and `'amqp091/testing'` pointed at src/), every shell command names
// a script that exists, and `npm start` runs the example it promises.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const tmp = path.join(root, '.tmp', `readme-${process.pid}`);

function blocks(lang: string): string[] {
  const out: string[] = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm');
  for (let m = re.exec(readme); m; m = re.exec(readme)) out.push(m[1]!);
  return out;
}

function runModule(file: string, timeoutMs: number) {
  return spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env },
  });
}

describe('README', () => {
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const tsBlocks = blocks('ts');
  it('has TypeScript examples', () => expect(tsBlocks.length).toBeGreaterThanOrEqual(3));

  // What each block must print: a block that runs but does nothing fails.
  const expectedOutput = [
    /connected\ngot "hello, world" \(text\/plain\)/,
    /^100 confirmed, 0 nacked$/m,
    /^publish 2 returned: 312 NO_ROUTE\nclose event: 404\nclosed: 404\nclosed by the user: null$/m,
    /^handled 3, 2 back in the queue, consumer cancelled$/m,
    /^handled 3, left in queue 0, errors: cannot handle "bad"$/m,
    /^offset 3: event 3\noffset 4: event 4$/m,
    /^heartbeat 30 frame-max \d+$/m,
    /^recovered after 1 attempt\(s\)\ngot "after the outage"$/m,
    /^reply: HELLO RPC\nreturned: 312 NO_ROUTE$/m,
    /^published 1, received "hello", channel closed with 406$/m,
    /^queueDeclare rejected with FrameError 501; the client closed the connection with 501$/m,
  ];

  const entry = pathToFileURL(path.join(root, 'src/index.ts')).href;
  const testingEntry = pathToFileURL(path.join(root, 'src/testing/index.ts')).href;
  tsBlocks.forEach((code, i) => {
    const firstLine = code.split('\n').find((l) => l.trim() && !l.startsWith('import')) ?? '';
    it(`TypeScript block ${i + 1} runs: ${firstLine.trim().slice(0, 50)}`, () => {
      mkdirSync(tmp, { recursive: true });
      const file = path.join(tmp, `block-${i + 1}.mts`);
      writeFileSync(file, code.replaceAll("from 'amqp091/testing'", `from '${testingEntry}'`).replaceAll("from 'amqp091'", `from '${entry}'`));
      const run = runModule(file, 15_000);
      expect(run.error).toBeUndefined();
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(expectedOutput[i] ?? /[^]/);
    }, 20_000);
  });

  it('has an expected output for every block', () => expect(expectedOutput.length).toBe(tsBlocks.length));

  it('names only npm commands that exist', () => {
    const commands = blocks('sh')
      .flatMap((b) => b.split('\n'))
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    expect(commands).toContain('npm install');
    expect(commands).toContain('npm test');
    for (const c of commands) {
      const m = /^(?:[A-Z_]+=\S+ )*npm (?:run )?([\w:-]+)/.exec(c);
      expect(m, c).not.toBeNull();
      const script = m![1]!;
      if (script !== 'install') expect(Object.keys(pkg.scripts), c).toContain(script);
    }
  });

  it('`npm start` runs the hello-world example against the broker', () => {
    expect(pkg.scripts['start']).toBe('tsx examples/hello-world.ts');
    const run = runModule(path.join(root, 'examples/hello-world.ts'), 15_000);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/hello/i);
  }, 20_000);
});
