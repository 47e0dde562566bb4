import { FlotillaError } from '@flotilla/kit';
import type { ObjectRow } from './object-rows.js';

export interface Conditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
}

/** `"a", W/"b"` → the opaque tags (weak ones compare by their tag: S3 does the same). */
function tags(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .filter(Boolean);
}

function matches(header: string, row: ObjectRow | undefined): boolean {
  const list = tags(header);
  if (list.includes('*')) return row !== undefined;
  return row !== undefined && list.includes(row.etag);
}

/**
 * RFC 9110 §13.2.2: If-Match first, then If-None-Match. A failed condition is 412 for a
 * write; for a read, a failed If-None-Match is 304 (`notModified`), as in S3.
 */
export function checkConditions(
  current: ObjectRow | undefined,
  c: Conditions,
  read = false,
): 'ok' | 'not-modified' {
  const visible = current && !current.deleteMarker ? current : undefined;
  if (c.ifMatch !== undefined && !matches(c.ifMatch, visible))
    throw new FlotillaError('FLT_PRECONDITION_FAILED', 'If-Match does not hold for the current object');
  if (c.ifNoneMatch !== undefined && matches(c.ifNoneMatch, visible)) {
    if (read) return 'not-modified';
    throw new FlotillaError(
      'FLT_PRECONDITION_FAILED',
      c.ifNoneMatch.trim() === '*' ? 'the object exists (If-None-Match: *)' : 'If-None-Match does not hold',
    );
  }
  return 'ok';
}
