import { FlotillaError } from '@flotilla/kit';

/**
 * One HTTP byte range (RFC 9110 §14.1.2) against an object of `size` bytes: inclusive
 * bounds, or undefined for the whole object. A range that cannot be satisfied is 416 with
 * `Content-Range: bytes *\/size`; several ranges or another unit are ignored (§14.2: a
 * server may ignore Range) and the whole object is served.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const unsatisfiable = () =>
    new FlotillaError(
      'FLT_RANGE_NOT_SATISFIABLE',
      `the range ${header} is beyond the object's ${size} bytes`,
      {
        headers: { 'content-range': `bytes */${size}` },
      },
    );
  if (m[1] === '') {
    // A suffix: the last n bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) throw unsatisfiable();
  if (end < start) return undefined; // invalid: ignored
  return { start, end };
}
