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
// `Connection` values seen, parsed: nearly every message says `keep-alive` or `close`.
// Bounded, since the values come from clients and upstreams.
const LISTED = new Map<string, ReadonlySet<string>>();
const LISTED_MAX = 64;
const UPPER = /[A-Z]/;

/** Names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NONE;
  const text = Array.isArray(value) ? value.join(',') : value;
  let listed = LISTED.get(text);
  if (listed === undefined) {
    listed = new Set(
      text
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    );
    if (LISTED.size >= LISTED_MAX) LISTED.clear();
    LISTED.set(text, listed);
  }
  return listed;
}

// Own fields only, as Object.entries gave (for...in without the arrays; nothing inherited).
const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/** Field names as compared here; Node and undici already give them in lower case. */
function lower(name: string): string {
  return UPPER.test(name) ? name.toLowerCase() : name;
}

/**
 * The request headers an upstream receives: hop-by-hop, identity and host headers
 * removed; `Expect` removed (the gateway streams the body itself); `Authorization` too
 * with `dropAuthorization` (the caller then travels as a credential the upstream verifies).
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  dropAuthorization = false,
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || !hasOwn(incoming, name)) continue;
    const n = lower(name);
    if (HOP_BY_HOP.has(n) || listed.has(n) || n === 'host' || n === 'expect' || n.startsWith(':')) continue;
    if (IDENTITY.test(n) || (dropAuthorization && n === 'authorization')) continue;
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
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || !hasOwn(upstream, name)) continue;
    const n = lower(name);
    if (HOP_BY_HOP.has(n) || listed.has(n)) continue;
    if (n.startsWith('access-control-') || n === 'strict-transport-security' || n === 'date') continue;
    out[n] = value;
  }
  return out;
}

/** RFC 7239 §4 `Forwarded`: IPv6 addresses are bracketed and quoted. */
export function forwardedHeader(ip: string, proto: 'http' | 'https', host: string | undefined): string {
  const node = ip.includes(':') ? `"[${ip}]"` : ip;
  const base = `for=${node};proto=${proto}`;
  return host && FORWARDED_HOST.test(host) ? `${base};host="${host}"` : base;
}

const FORWARDED_HOST = /^[A-Za-z0-9.\-:[\]]+$/;
