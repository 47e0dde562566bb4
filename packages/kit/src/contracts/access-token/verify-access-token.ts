import { errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { type ErrorCode, FlotillaError } from '../../errors/index.js';
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims, ALGORITHMS, REQUIRED_CLAIMS } from './claims.js';

export interface VerifyAccessTokenOptions {
  /** The auth server's issuer identifier; `iss` must equal it (RFC 9068 §4). */
  issuer: string;
  /** The audience(s) this verifier stands for; `aud` must name one (RFC 9068 §4). */
  audience: string | readonly string[];
  /** Allowed clock skew for `exp`, `iat` and `nbf`, seconds; default 0. */
  clockToleranceSeconds?: number | undefined;
}

/**
 * A refused access token, or keys that cannot be had. `code` is `FLT_TOKEN_EXPIRED`,
 * `FLT_TOKEN_INVALID`, or `FLT_UNAVAILABLE` (retryable: the key set could not be fetched,
 * the caller is not at fault). `reason` is a short description safe to put in an RFC 6750
 * `error_description`: it never quotes the token or a claim's value.
 */
export class AccessTokenError extends FlotillaError {
  readonly reason: string;
  constructor(code: ErrorCode, reason: string, cause: unknown) {
    super(code, reason, { cause });
    this.name = 'AccessTokenError';
    this.reason = reason;
  }
}

/**
 * Verifies an RFC 9068 JWT access token and returns its claims. The checks, with the
 * section of RFC 9068 §4 (validation) each enforces:
 * - the header `typ` is `at+jwt` (§4 step 1; `application/at+jwt` is the same type);
 * - `iss` is exactly `issuer` (§4 step 3);
 * - `aud` names `audience` (§4 step 4);
 * - the signature verifies with a key of the issuer, under an algorithm of
 *   {@link ALGORITHMS} only — never `none` or one the token picks (§4 step 5);
 * - `exp` is in the future and `iat`, `nbf` are not (§4 step 7, with `clockToleranceSeconds`;
 *   a future `iat` would outlive a user's revocation, which denies tokens issued up to it);
 * - `sub`, `client_id`, `jti`, `iat`, `exp` are present (§2.2), the first three as non-empty strings.
 * Throws an {@link AccessTokenError}.
 *
 * @example
 * const keys = createRemoteJWKSet(new URL(jwksUrl));
 * const claims = await verifyAccessToken(token, keys, { issuer, audience: 'https://api.example' });
 */
export async function verifyAccessToken(
  token: string,
  keys: JWTVerifyGetKey,
  opts: VerifyAccessTokenOptions,
): Promise<AccessTokenClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: [...ALGORITHMS],
      typ: ACCESS_TOKEN_TYPE,
      issuer: opts.issuer,
      audience: typeof opts.audience === 'string' ? opts.audience : [...opts.audience],
      clockTolerance: opts.clockToleranceSeconds ?? 0,
      requiredClaims: [...REQUIRED_CLAIMS],
    }));
  } catch (err) {
    throw refusal(err);
  }
  for (const claim of ['sub', 'client_id', 'jti'] as const) {
    if (typeof payload[claim] !== 'string' || payload[claim] === '') {
      throw invalid(`${claim} claim must be a non-empty string`, undefined);
    }
  }
  // jose checks `iat` is a number only. A token "issued" in the future would outlive a
  // user's or client's revocation, which denies tokens with `iat <= at`: refuse it.
  const tolerance = opts.clockToleranceSeconds ?? 0;
  if ((payload.iat as number) > Math.floor(Date.now() / 1000) + tolerance) {
    throw invalid('iat claim check failed', undefined);
  }
  return payload as AccessTokenClaims;
}

/** What went wrong, as the caller may be told. */
function refusal(err: unknown): AccessTokenError {
  // Not jose's: the key source failed (fetch, discovery) — our problem, not the caller's.
  if (!(err instanceof errors.JOSEError)) return unavailable(err);
  switch (err.code) {
    // jose raises its base class (ERR_JOSE_GENERIC) for a JWKS answered with a non-200
    // status or bad JSON.
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return unavailable(err);
    case 'ERR_JWT_EXPIRED':
      return new AccessTokenError('FLT_TOKEN_EXPIRED', 'token expired', err);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return invalid(`${(err as errors.JWTClaimValidationFailed).claim} claim check failed`, err);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalid('algorithm not allowed', err);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalid('unknown signing key', err);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid('signature verification failed', err);
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWE_DECRYPTION_FAILED':
    case 'ERR_JWE_INVALID':
    case 'ERR_JWK_INVALID':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid('malformed token', err);
    default:
      return invalid('malformed token', err);
  }
}

function invalid(reason: string, cause: unknown): AccessTokenError {
  return new AccessTokenError('FLT_TOKEN_INVALID', reason, cause);
}

function unavailable(cause: unknown): AccessTokenError {
  return new AccessTokenError('FLT_UNAVAILABLE', 'the key set cannot be fetched', cause);
}
