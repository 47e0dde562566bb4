/** Header lookups that work for Fastify, node:http and plain objects alike. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The bearer token of a request, or undefined when there is none or the header is
 * malformed. A repeated `Authorization` header is refused: which one would we trust?
 */
export function bearerToken(headers: HeaderBag): string | undefined {
  const value = headers.authorization ?? headers.Authorization;
  if (typeof value !== 'string') return undefined;
  return BEARER.exec(value.trim())?.[1];
}
