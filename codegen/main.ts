// `npm run codegen` / `npm run codegen:check`: the command line as a process.
// Everything it does is in cli.ts, which tests run in-process.

import { runCli } from './cli.js';

process.exitCode = runCli(process.argv.slice(2));
