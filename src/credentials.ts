// Credentials: the password of a connection, kept in ES private fields so
// that inspection, JSON and error messages never reach it. A password
// function is called before every connection attempt (initial and
// recovery), so an expiring token is fetched fresh; updateSecret replaces
// a static password.

import type { PasswordOption } from './options.js';

export class Credentials {
  #password: PasswordOption;
  /** What the next handshake sends. */
  #next: string;

  constructor(password: PasswordOption | undefined) {
    this.#password = password ?? 'guest';
    this.#next = typeof this.#password === 'string' ? this.#password : '';
  }

  /** The password for the next handshake (a method, not a getter: inspection with getters must not reach it). */
  next(): string {
    return this.#next;
  }

  /** A new secret (updateSecret) for the next attempts; a password function still wins. */
  update(secret: string): void {
    if (typeof this.#password === 'string') this.#password = secret;
    this.#next = secret;
  }

  /** Before each connection attempt: a password function is asked for a fresh secret. */
  async prepare(): Promise<void> {
    const p = this.#password;
    const next: unknown = typeof p === 'function' ? await p() : p;
    if (typeof next !== 'string') throw new TypeError('the password function must return a string (or a promise of one)');
    this.#next = next;
  }
}
