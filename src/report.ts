// Where errors that no caller awaits go: the connection's onError option,
// or process warnings without one. Never throws into the library.

import { AmqpError } from './errors.js';
import type { ErrorCallback } from './options.js';

export function reportError(onError: ErrorCallback | undefined, err: unknown): void {
  const e = err instanceof Error ? err : new AmqpError(String(err));
  if (onError === undefined) {
    process.emitWarning(e);
    return;
  }
  try {
    const r = onError(e);
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, () => undefined);
  } catch {
    // onError must not throw into the library
  }
}
