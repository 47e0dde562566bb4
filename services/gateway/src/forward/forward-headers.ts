import type { IncomingHttpHeaders } from 'node:http';

// RFC 9110 §7.6.1: connection-specific fields, never forwarded (plus the legacy ones proxies still see).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
]);

/**
 * Headers that claim an identity or a network path. The gateway is the edge: whatever a
 * client sends in these is a forgery, so they are dropped, and the gateway sets its own.
 * One alternation, tested once per header.
 */
const IDENTITY =
  /^(?:x-flotilla-|x-user-|x-auth-|x-consumer-|x-jwt-|x-forwarded-|x-remote-|x-client-(?:cert|verify|dn|id)|x-ssl-|x-spiffe|x-principal|x-authenticated-|remote-user$|x-real-ip$|forwarded$|x-request-id$|traceparent$)/;

const NONE: ReadonlySet<string> = new Set();

/** Names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NONE;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The request headers an upstream receives: hop-by-hop, identity and host headers
 * removed; `Expect` removed (the gateway streams the body itself).
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || listed.has(n) || n === 'host' || n === 'expect' || n.startsWith(':')) continue;
    if (IDENTITY.test(n)) continue;
    out[n] = value;
  }
  return out;
}

/**
 * The response headers a client receives from an upstream: hop-by-hop removed, and
 * CORS and HSTS removed because the gateway alone decides them.
 */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const listed = connectionListed(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || listed.has(n)) continue;
    if (n.startsWith('access-control-') || n === 'strict-transport-security' || n === 'date') continue;
    out[n] = value;
  }
  return out;
}

/** RFC 7239 §4 `Forwarded`: IPv6 addresses are bracketed and quoted. */
export function forwardedHeader(ip: string, proto: 'http' | 'https', host: string | undefined): string {
  const node = ip.includes(':') ? `"[${ip}]"` : ip;
  const parts = [`for=${node}`, `proto=${proto}`];
  if (host && /^[A-Za-z0-9.\-:[\]]+$/.test(host)) parts.push(`host="${host}"`);
  return parts.join(';');
}
