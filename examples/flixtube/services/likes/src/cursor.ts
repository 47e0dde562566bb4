import { FlotillaError } from '@flotilla/kit';

/** Where a page of favorites ends: the last row's `created` and `seq` (the list's sort key). */
export interface Cursor {
  created: Date;
  seq: number;
}

/** An opaque page cursor: base64url of `[created ISO, seq]`. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.created.toISOString(), c.seq])).toString('base64url');
}

/** Reads a cursor from `?cursor=`; a cursor we did not make is a 400 naming the field. */
export function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [created, seq] = value as unknown[];
      const date = typeof created === 'string' ? new Date(created) : undefined;
      if (date && !Number.isNaN(date.getTime()) && Number.isSafeInteger(seq) && (seq as number) > 0) {
        return { created: date, seq: seq as number };
      }
    }
  } catch {
    // fall through to the one answer for every malformed cursor
  }
  throw new FlotillaError('FLT_VALIDATION', 'query/cursor is not a cursor this API returned', {
    errors: [{ field: 'query/cursor', message: 'is not a cursor this API returned' }],
  });
}
