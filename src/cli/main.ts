#!/usr/bin/env node
// The `amqp091` command (package.json "bin"). Everything is in run.ts; this
// file binds it to the process.

import { run } from './run.js';

// A closed pipe on stdout (`amqp091 consume q | head`) ends the command, not the process with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

const status = await run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = status;
