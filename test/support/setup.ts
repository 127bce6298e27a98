// Vitest setup file (see vitest.config.ts), evaluated before every test file.
//
// An unhandled promise rejection or an uncaught exception that happens while a
// test runs (from its beforeEach to its afterEach) FAILS that test: the error
// is collected here and re-thrown from an afterEach hook, so the test is
// reported as failed with the error attached. One that happens outside any
// test (in beforeAll/afterAll, between tests, after the file's last test) is
// passed on to Vitest's own handler, which fails the whole run ("Unhandled
// Errors", exit code 1).
//
// A test that provokes one on purpose can claim it with takeUnhandledErrors()
// before it ends.
import { afterEach, beforeEach } from 'vitest';

type ProcessEvent = 'unhandledRejection' | 'uncaughtException';

interface CaughtError {
  readonly event: ProcessEvent;
  readonly error: unknown;
}

interface SetupState {
  readonly caught: CaughtError[];
  inTest: boolean;
}

const STATE_KEY = Symbol.for('amqp091.test.setup');

const emit = process.emit.bind(process) as unknown as (event: string, ...args: unknown[]) => boolean;

function installOnce(): SetupState {
  const holder = globalThis as unknown as Record<symbol, SetupState | undefined>;
  const existing = holder[STATE_KEY];
  if (existing) return existing;
  const state: SetupState = { caught: [], inTest: false };
  holder[STATE_KEY] = state;

  const listen = (event: ProcessEvent): void => {
    const listener = (error: unknown, ...rest: unknown[]): void => {
      if (state.inTest) {
        state.caught.push({ event, error });
        return;
      }
      // Vitest ignores an event when some other listener exists ("handled by
      // user code"), so step aside while handing it over.
      process.off(event, listener);
      try {
        emit(event, error, ...rest);
      } finally {
        process.on(event, listener);
      }
    };
    process.on(event, listener);
  };
  listen('unhandledRejection');
  listen('uncaughtException');
  return state;
}

const state = installOnce();

/** Removes and returns the errors collected so far in the current test. */
export function takeUnhandledErrors(): unknown[] {
  return state.caught.splice(0).map((c) => c.error);
}

function describeError(c: CaughtError): string {
  const e = c.error;
  const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
  return `${c.event}: ${text}`;
}

/** Lets Node run its unhandled-rejection check for anything settled so far. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

beforeEach(() => {
  state.caught.length = 0;
  state.inTest = true;
});

afterEach(async () => {
  await turn();
  await turn();
  state.inTest = false;
  const errors = state.caught.splice(0);
  if (errors.length === 0) return;
  const first = errors[0];
  const err = new Error(
    `${errors.length} unhandled error(s) during this test:\n` + errors.map(describeError).join('\n'),
    { cause: first?.error },
  );
  err.name = 'UnhandledErrorDuringTest';
  throw err;
});
