// A shortstr holds at most 255 bytes of UTF-8: texts we make up (reply
// texts from error messages) are cut to fit rather than refused.

/** `s` cut at a character boundary to at most 255 bytes of UTF-8. */
export function fitShortstr(s: string): string {
  let t = s;
  while (Buffer.byteLength(t, 'utf8') > 255) t = t.slice(0, -1);
  return t;
}
