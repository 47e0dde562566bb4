import { FlotillaError } from '@flotilla/kit';

/** One byte range as sent: `first-last`, `first-` (to the end) or `-suffix` (the last n bytes). */
export type ByteRange = { first: number; last?: number } | { suffix: number };

// RFC 9110 §14.1.2: int-range = first-pos "-" [ last-pos ], suffix-range = "-" suffix-length.
// Whitespace around the one range-spec is allowed (OWS in the list syntax, §5.6.1).
const BYTES = /^bytes=[ \t]*(?:(\d{1,15})-(\d{0,15})|-(\d{1,15}))[ \t]*$/;
const UNIT = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)=/;

/**
 * The one byte range a `Range` header asks for, checked against RFC 9110 §14:
 * - no header, or a unit other than `bytes` (§14.2: MUST be ignored): undefined, the whole object;
 * - a single valid `bytes` range: that range, for storage to satisfy (206) or not (416);
 * - a malformed `bytes` range (not the grammar, `last < first`) or several ranges: 400
 *   `FLT_BAD_REQUEST`. Several ranges are refused rather than answered in part: a
 *   player asks for one at a time, and a multipart answer is not worth its parser.
 */
export function parseByteRange(header: string | string[] | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw malformed('more than one Range header');
  const unit = UNIT.exec(header);
  if (!unit) throw malformed('a Range header is `bytes=first-last`');
  if (unit[1]!.toLowerCase() !== 'bytes') return undefined;
  if (header.includes(',')) throw malformed('only one range per request is served');
  const m = BYTES.exec(`bytes=${header.slice(unit[0].length)}`);
  if (!m) throw malformed('a byte range is `first-last`, `first-` or `-suffix`');
  if (m[3] !== undefined) return { suffix: Number(m[3]) };
  const first = Number(m[1]);
  if (m[2] === '') return { first };
  const last = Number(m[2]);
  if (last < first) throw malformed('the range ends before it starts');
  return { first, last };
}

/** The `Range` header that asks storage for the same bytes. */
export function rangeHeader(range: ByteRange): string {
  return 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.first}-${range.last ?? ''}`;
}

function malformed(detail: string): FlotillaError {
  return new FlotillaError('FLT_BAD_REQUEST', `malformed Range header: ${detail}`);
}
