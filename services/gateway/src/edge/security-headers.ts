export const HSTS = 'strict-transport-security';

/** The HSTS value for every response (RFC 6797 §6.1); browsers ignore it over plain HTTP, so it is harmless there. */
export function hstsValue(maxAgeSec: number): string {
  return `max-age=${maxAgeSec}; includeSubDomains`;
}

/**
 * Headers on responses the gateway writes itself (problems, preflights, redirects):
 * no MIME sniffing, no referrer, never framed (`X-Frame-Options` for old browsers,
 * CSP `frame-ancestors` for current ones), and nothing to run.
 */
export const GENERATED_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
});
