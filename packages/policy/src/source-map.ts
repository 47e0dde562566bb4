/**
 * Cedar reports positions as UTF-8 byte offsets into the text it parsed. These helpers
 * split a file into policy statements (keeping each one's offset) and turn offsets back
 * into file lines, so an error can say `videos.cedar:12:5`.
 */

export interface Statement {
  /** The statement text, leading comments included, up to and including its `;`. */
  text: string;
  /** Byte offset of `text` within the file. */
  byteStart: number;
  /** Byte offset of the first token (annotation or effect) within the file. */
  byteBody: number;
}

/** Splits Cedar policy text at top-level `;`, skipping strings and `//` comments. */
export function splitStatements(source: string): Statement[] {
  const out: Statement[] = [];
  let start = 0;
  let body = -1;
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '/' && source[i + 1] === '/') {
      const nl = source.indexOf('\n', i);
      i = nl === -1 ? source.length : nl + 1;
      continue;
    }
    if (ch !== undefined && !/\s/.test(ch) && body === -1) body = i;
    if (ch === '"') {
      i += 1;
      while (i < source.length && source[i] !== '"') i += source[i] === '\\' ? 2 : 1;
      i += 1;
      continue;
    }
    if (ch === ';') {
      const text = source.slice(start, i + 1);
      out.push({
        text,
        byteStart: byteLength(source, 0, start),
        byteBody: byteLength(source, 0, body),
      });
      start = i + 1;
      body = -1;
    }
    i += 1;
  }
  return out;
}

function byteLength(source: string, from: number, to: number): number {
  return Buffer.byteLength(source.slice(from, to), 'utf8');
}

/** Maps UTF-8 byte offsets of one text to 1-based line and column. */
export class LineIndex {
  readonly #lineStarts: number[] = [0];

  constructor(source: string) {
    const bytes = Buffer.from(source, 'utf8');
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) this.#lineStarts.push(i + 1);
  }

  position(byteOffset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#lineStarts[mid] ?? 0) <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    return {
      line: lo + 1,
      column: byteOffset - (this.#lineStarts[lo] ?? 0) + 1,
    };
  }
}
