// <doc> text → TSDoc lines: dedent, join each paragraph into one line,
// reflow to a fixed width, and keep `*/` from ending the comment early.

import type { RawDoc } from './parse.js';

const WIDTH = 88;

function reflow(paragraph: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of paragraph.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(line);
  return out;
}

/** Paragraphs of plain text, each reflowed; paragraphs separated by ''. */
export function docText(docs: readonly RawDoc[], width = WIDTH): string {
  const paragraphs = docs
    .filter((d) => d.type === undefined)
    .flatMap((d) => d.text.replace(/\r\n/g, '\n').split(/\n\s*\n/))
    .map((p) => reflow(p.replace(/\*\//g, '*\\/'), width).join('\n'))
    .filter((p) => p.length > 0);
  return paragraphs.join('\n\n');
}

/** One line of text, for short labels. */
export function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim();
}
