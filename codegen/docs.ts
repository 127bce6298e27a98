// <doc> text → plain paragraphs: dedent, join each paragraph into one line,
// and keep `*/` from ending a comment early. Wrapping to the line width is
// the emitters' job (emit/common.ts), since only they know the indentation.

import type { RawDoc } from './parse.js';

/** Paragraphs of plain text, each on one line, separated by ''. */
export function docText(docs: readonly RawDoc[]): string {
  const paragraphs = docs
    .filter((d) => d.type === undefined)
    .flatMap((d) => d.text.replace(/\r\n/g, '\n').split(/\n\s*\n/))
    .map((p) => oneLine(p))
    .filter((p) => p.length > 0);
  return paragraphs.join('\n\n');
}

/** One line of text, for short labels. */
export function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim();
}
