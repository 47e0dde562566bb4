import type { FlotillaError } from '@flotilla/kit';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
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

// RFC 9068 §2.2: claims every JWT access token carries; the gateway also needs client_id and jti.
const REQUIRED = ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'jti'];

/**
 * Verifies JWT access tokens (RFC 9068) against the auth server's key set, and caches
 * the result per token (keyed by its SHA-256) until `exp` so a signature is verified
 * once per token, not once per request. Revocation is checked elsewhere on every request.
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
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, {
        // Allow-list, never the token's own choice: rules out `none` and HS256-with-the-public-key.
        algorithms: ['ES256'],
        // RFC 9068 §4: typ must be at+jwt; jose compares without the `application/` prefix.
        typ: 'at+jwt',
        issuer: this.#opts.issuer,
        audience: this.#opts.audience,
        clockTolerance: this.#opts.clockToleranceSec,
        requiredClaims: REQUIRED,
      }));
    } catch (err) {
      throw mapJoseError(err);
    }
    for (const claim of ['sub', 'client_id', 'jti'] as const) {
      if (typeof payload[claim] !== 'string' || payload[claim] === '') {
        throw invalidToken(`${claim} claim must be a non-empty string`);
      }
    }
    const principal = principalFromClaims(payload, 'jwt');
    this.#cache.set(key, principal, principal.exp * 1000);
    return principal;
  }
}

function mapJoseError(err: unknown): FlotillaError {
  if (!(err instanceof errors.JOSEError)) return authUnavailable('the key set cannot be fetched', err);
  switch (err.code) {
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return authUnavailable('the key set cannot be fetched', err);
    case 'ERR_JWT_EXPIRED':
      return invalidToken('token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return invalidToken(`${(err as errors.JWTClaimValidationFailed).claim} claim check failed`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalidToken('algorithm not allowed');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalidToken('unknown signing key');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalidToken('signature verification failed');
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWE_DECRYPTION_FAILED':
    case 'ERR_JWE_INVALID':
    case 'ERR_JWK_INVALID':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalidToken('malformed token');
    default:
      return invalidToken('malformed token');
  }
}
