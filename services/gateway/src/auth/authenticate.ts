import { invalidRequest, invalidToken, missingToken } from './auth-errors.js';
import type { Introspector } from './introspection.js';
import type { Principal } from './principal.js';
import type { JwtVerifier } from './verify-jwt.js';

// RFC 7515 §7.1 compact serialisation: three base64url parts (the last may be empty, as in `alg: none`).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// RFC 6750 §2.3: a token in the query is refused, not used.
const ACCESS_TOKEN_PARAM = /(?:^|&)access_token=/;
// RFC 6750 §2.1 b64token.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Extracts the bearer token (RFC 6750 §2.1). Only the header is accepted: query tokens leak into logs (§2.3). */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
  if (!m) throw missingToken();
  const token = m[1]!;
  if (!B64TOKEN.test(token)) throw invalidToken('malformed token');
  return token;
}

export class Authenticator {
  readonly #jwt: JwtVerifier | undefined;
  readonly #introspector: Introspector | undefined;

  constructor(jwt: JwtVerifier | undefined, introspector: Introspector | undefined) {
    this.#jwt = jwt;
    this.#introspector = introspector;
  }

  /**
   * Validates the request's bearer token; throws (or rejects with) a 401/400/503
   * FlotillaError when it cannot. A token already in the verified-token cache is answered
   * synchronously.
   */
  authenticate(
    headers: Record<string, string | string[] | undefined>,
    query: string,
  ): Principal | Promise<Principal> {
    if (query !== '' && ACCESS_TOKEN_PARAM.test(query))
      throw invalidRequest('send the token in the Authorization header, not the query');
    const header = headers.authorization;
    if (Array.isArray(header)) throw invalidRequest('more than one Authorization header');
    const token = bearerToken(header);
    if (!token) throw missingToken();
    if (COMPACT_JWS.test(token)) {
      if (!this.#jwt) throw invalidToken('JWT access tokens are not accepted');
      return this.#jwt.verify(token);
    }
    if (!this.#introspector) throw invalidToken('malformed token');
    return this.#introspector.introspect(token);
  }
}
