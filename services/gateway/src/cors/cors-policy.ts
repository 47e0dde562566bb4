import type { CorsConfig } from '../routes/route-schema.js';

/**
 * CORS per route (Fetch Standard §3.2). The gateway, not the upstream, decides: upstream
 * `Access-Control-*` headers are dropped. A disallowed origin gets no CORS headers at
 * all, and its preflight is refused with 403 problem+json, so the refusal is visible in
 * logs and metrics rather than silent.
 */

/** A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
export function isPreflight(method: string, headers: Record<string, string | string[] | undefined>): boolean {
  return (
    method === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

function allowedOrigin(cors: CorsConfig | undefined, origin: string | undefined): string | undefined {
  if (!cors || !origin) return undefined;
  // Origins compare by scheme, host and port, which are case-insensitive (RFC 6454 §5).
  const o = origin.toLowerCase();
  if (cors.origins.some((allowed) => allowed.toLowerCase() === o)) return origin;
  // `*` is refused with credentials at load time; `null` (sandboxed, file:) is never matched by it.
  if (cors.origins.includes('*') && o !== 'null') return '*';
  return undefined;
}

/** CORS headers for an actual (non-preflight) response; empty when the origin is not allowed. */
export function corsResponseHeaders(
  cors: CorsConfig | undefined,
  origin: string | undefined,
): Record<string, string> {
  const allow = allowedOrigin(cors, origin);
  if (!allow || !cors) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': allow };
  if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
  if (cors.exposeHeaders?.length) headers['access-control-expose-headers'] = cors.exposeHeaders.join(', ');
  return headers;
}

export type PreflightAnswer = { ok: true; headers: Record<string, string> } | { ok: false; reason: string };

export function answerPreflight(
  cors: CorsConfig | undefined,
  routeMethod: string,
  origin: string,
  requestMethod: string,
  requestHeaders: string | undefined,
): PreflightAnswer {
  const allow = allowedOrigin(cors, origin);
  if (!cors || !allow) return { ok: false, reason: 'origin not allowed' };
  const methods = cors.methods ?? [routeMethod];
  if (!methods.includes(requestMethod)) return { ok: false, reason: 'method not allowed' };
  const allowedHeaders = (cors.headers ?? []).map((h) => h.toLowerCase());
  const asked = (requestHeaders ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (asked.some((h) => !allowedHeaders.includes(h))) return { ok: false, reason: 'header not allowed' };
  const headers: Record<string, string> = {
    'access-control-allow-origin': allow,
    'access-control-allow-methods': methods.join(', '),
  };
  if (cors.headers?.length) headers['access-control-allow-headers'] = cors.headers.join(', ');
  if (cors.maxAge !== undefined) headers['access-control-max-age'] = String(cors.maxAge);
  if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
  return { ok: true, headers };
}
