// Async helpers shared by every suite: waiting, polling, and looking at a
// promise's outcome without awaiting it.

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `cond` until true (every 20 ms), failing after `timeout` ms. */
export async function waitFor(cond: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The rejection of `p` (fails when it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

export type Settled = { state: 'pending' } | { state: 'resolved'; value: unknown } | { state: 'rejected'; error: unknown };

/** Follow a promise's outcome without awaiting it (and without leaving a rejection unhandled). */
export function track(p: Promise<unknown>): { readonly outcome: Settled; readonly done: Promise<void> } {
  const box: { outcome: Settled; done: Promise<void> } = { outcome: { state: 'pending' }, done: Promise.resolve() };
  box.done = p.then(
    (value) => void (box.outcome = { state: 'resolved', value }),
    (error: unknown) => void (box.outcome = { state: 'rejected', error }),
  );
  return box;
}

/** Lets everything already settled run its continuations. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
