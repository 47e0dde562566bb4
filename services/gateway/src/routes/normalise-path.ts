/**
 * Path normalisation at the edge, before any route is matched. The gateway matches and
 * forwards the normalised form only, so a path that means something else to an upstream
 * (a traversal, an encoded separator) never reaches it.
 *
 * Rules (RFC 3986 §6.2.2 syntax-based normalisation, hardened for a reverse proxy):
 * - percent-encoding is decoded exactly once; a segment that still holds `%XX` after
 *   decoding was double-encoded (`%252e`) and is refused;
 * - an encoded `/` or `\` (`%2F`, `%5C`), a NUL, a raw backslash or any control
 *   character is refused: they split segments differently in different servers;
 * - `.` segments are removed and `..` segments resolved (RFC 3986 §5.2.4); a `..` that
 *   would climb above the root is refused;
 * - empty segments (`//`) collapse, and a trailing `/` is dropped.
 */
export type NormalisedPath =
  { ok: true; path: string; segments: readonly string[] } | { ok: false; reason: string };

const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;
const STILL_ENCODED = /%[0-9a-f]{2}/i;
// C0 controls and DEL; `/` cannot appear inside a segment once split.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

// The common case: one or more `/segment`s of RFC 3986 unreserved characters only, none of
// them `.` or `..`. Such a path is already normal: decoding and re-encoding give it back
// unchanged (encodeURIComponent leaves unreserved characters alone), so it is its own form.
const ALREADY_NORMAL = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+)+$/;

export function normalisePath(rawPath: string): NormalisedPath {
  if (ALREADY_NORMAL.test(rawPath)) return { ok: true, path: rawPath, segments: rawPath.slice(1).split('/') };
  return normaliseSlow(rawPath);
}

/** The rules above, segment by segment. Exported for the test that compares both ways. */
export function normaliseSlow(rawPath: string): NormalisedPath {
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'path must start with /' };
  if (rawPath.includes('\\')) return { ok: false, reason: 'backslash in path' };
  if (CONTROL.test(rawPath)) return { ok: false, reason: 'control character in path' };
  const out: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    if (ENCODED_SEPARATOR.test(raw)) return { ok: false, reason: 'encoded separator or NUL in path' };
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'malformed percent-encoding in path' };
    }
    if (STILL_ENCODED.test(segment)) return { ok: false, reason: 'double percent-encoding in path' };
    if (segment.includes('/') || segment.includes('\\') || CONTROL.test(segment)) {
      return { ok: false, reason: 'encoded separator or control character in path' };
    }
    if (segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return { ok: false, reason: 'path escapes the root' };
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return { ok: true, path: `/${out.map(encodeSegment).join('/')}`, segments: out };
}

/** Percent-encodes one decoded segment for an upstream request line (RFC 3986 §3.3). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment);
}
