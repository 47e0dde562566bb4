import { AccessTokenError, verifyAccessToken } from '@flotilla/kit/contracts';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { authUnavailable, invalidToken } from './auth-errors.js';
import { type Principal, principalFromClaims } from './principal.js';
import { TokenCache, tokenHash } from './token-cache.js';

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** The auth server's JWKS (`jwks_uri`). */
  jwksUrl: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds. */
  clockToleranceSec: number;
  /** Least time between two key set fetches, even for unknown `kid`s (a flood of made-up kids must not flood the auth server). */
  jwksCooldownMs: number;
  /** Longest a fetched key set is used before it is fetched again. */
  jwksCacheMaxAgeMs: number;
  jwksTimeoutMs: number;
  /** Verified tokens kept (LRU); 0 disables the cache. */
  cacheSize: number;
  /** Tests can inject a key resolver instead of a remote JWKS. */
  getKey?: JWTVerifyGetKey;
}

/**
 * Verifies JWT access tokens with the access-token contract (`verifyAccessToken`, RFC 9068)
 * against the auth server's key set, and caches the result per token (keyed by its
 * SHA-256) until `exp` so a signature is verified once per token, not once per request.
 * Revocation is checked elsewhere on every request.
 */
export class JwtVerifier {
  readonly #opts: JwtVerifierOptions;
  readonly #getKey: JWTVerifyGetKey;
  readonly #cache: TokenCache<Principal>;

  constructor(opts: JwtVerifierOptions) {
    this.#opts = opts;
    this.#getKey =
      opts.getKey ??
      createRemoteJWKSet(new URL(opts.jwksUrl), {
        cooldownDuration: opts.jwksCooldownMs,
        cacheMaxAge: opts.jwksCacheMaxAgeMs,
        timeoutDuration: opts.jwksTimeoutMs,
      });
    this.#cache = new TokenCache(opts.cacheSize);
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  /**
   * Returns the caller, or rejects with a 401 (`invalid_token`) or 503 (key set unreachable)
   * FlotillaError. A token verified before (and not yet expired) is answered from the cache
   * synchronously: one hash, one lookup, no promise.
   */
  verify(token: string): Principal | Promise<Principal> {
    const key = tokenHash(token);
    return this.#cache.get(key) ?? this.#verify(token, key);
  }

  async #verify(token: string, key: string): Promise<Principal> {
    let claims;
    try {
      claims = await verifyAccessToken(token, this.#getKey, {
        issuer: this.#opts.issuer,
        audience: this.#opts.audience,
        clockToleranceSeconds: this.#opts.clockToleranceSec,
      });
    } catch (err) {
      if (!(err instanceof AccessTokenError) || err.code === 'FLT_UNAVAILABLE') {
        throw authUnavailable('the key set cannot be fetched', err);
      }
      throw invalidToken(
        err.reason,
        err.code === 'FLT_TOKEN_EXPIRED' ? 'FLT_TOKEN_EXPIRED' : 'FLT_TOKEN_INVALID',
      );
    }
    const principal = principalFromClaims(claims, 'jwt');
    this.#cache.set(key, principal, principal.exp * 1000);
    return principal;
  }
}
