// Streams and signals: reading a body from stdin or a file, writing output
// with back-pressure, and Ctrl-C as a promise.

import { readFile } from 'node:fs/promises';
import { UsageError, type Io } from './command.js';

/** All of stdin, byte for byte. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** A file's bytes; a file that cannot be read is a usage error. */
export async function readBodyFile(file: string, cmd: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read '${file}': ${(err as Error).message}`, cmd);
  }
}

/** Write to stdout, waiting for 'drain' when its buffer is full; rejects if the stream fails (e.g. a closed pipe). */
export function write(out: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    out.once('error', onError);
    const ok = out.write(data, (err) => {
      if (err) reject(err);
    });
    const done = (): void => {
      out.off('error', onError);
      resolve();
    };
    if (ok) done();
    else out.once('drain', done);
  });
}

/** One line to stderr. */
export function note(io: Io, line: string): void {
  io.stderr.write(`${line}\n`);
}

/**
 * A promise that resolves on the first SIGINT or SIGTERM (the command then
 * stops cleanly); a second signal exits at once with 130. `dispose` removes
 * the handlers.
 */
export function interrupted(): { signal: Promise<void>; dispose: () => void } {
  let resolve!: () => void;
  const signal = new Promise<void>((r) => {
    resolve = r;
  });
  let count = 0;
  const handler = (): void => {
    if (++count > 1) process.exit(130);
    resolve();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
