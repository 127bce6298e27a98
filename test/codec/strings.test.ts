// Writer.shortstr / longstr try short strings as ASCII with a JS loop and
// fall back to Buffer#write at the first non-ASCII unit: whatever the
// length and wherever a multi-byte character sits, the bytes must be the
// string's UTF-8 with the right length prefix.

import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/wire/index.js';

const LENGTHS = [0, 1, 2, 47, 48, 49, 84, 85, 86, 120];
const INSERTS = ['é', '€', '😀'];

function variants(): string[] {
  const out: string[] = [];
  for (const n of LENGTHS) {
    const base = 'abcdefghij'.repeat(13).slice(0, n);
    out.push(base);
    for (const ch of INSERTS) {
      if (n === 0) continue;
      for (const at of [0, n >> 1, n - 1]) out.push(base.slice(0, at) + ch + base.slice(at + 1));
    }
  }
  return out;
}

describe('Writer string encoding', () => {
  it('shortstr writes length + UTF-8 for ASCII and mixed strings of every length', () => {
    for (const s of variants()) {
      const utf8 = Buffer.from(s, 'utf8');
      if (utf8.length > 255) continue;
      const w = new Writer(4);
      w.u8(0x7e); // not at offset 0
      w.shortstr(s, 'f');
      expect(Buffer.from(w.buf.subarray(0, w.pos))).toEqual(Buffer.concat([Buffer.from([0x7e, utf8.length]), utf8]));
    }
  });

  it('longstr writes a 32-bit length + UTF-8 for ASCII and mixed strings', () => {
    for (const s of variants()) {
      const utf8 = Buffer.from(s, 'utf8');
      const w = new Writer(4);
      w.u8(0x7e);
      w.longstr(s, 'f');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(utf8.length);
      expect(Buffer.from(w.buf.subarray(0, w.pos))).toEqual(Buffer.concat([Buffer.from([0x7e]), len, utf8]));
    }
  });
});
