import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { FlotillaError } from '../errors/index.js';
import { bearerToken, type HeaderBag } from './bearer.js';
import { DiscoveryError, discoverJwksUri } from './discovery.js';
import { type AccessTokenClaims, type User, userFromClaims } from './user.js';

export interface UserAuthOptions {
  /** The auth server's issuer identifier; tokens must carry exactly this `iss`. */
  issuer: string;
  /** This API's audience; tokens must list it in `aud` (RFC 9068 §4). */
  audience: string;
  /** The JWKS; when omitted it is discovered from the issuer's OpenID configuration. */
  jwksUrl?: string | undefined;
  /** Allowed clock skew for `exp`/`iat`/`nbf`; default 5, at most 300. */
  clockToleranceSeconds?: number | undefined;
  /** `realm` of the `WWW-Authenticate` challenge; default the audience. */
  realm?: string | undefined;
  /** Fetch used for discovery and the JWKS, e.g. one that trusts the fleet's CA. */
  fetch?: FetchImplementation | undefined;
}

export interface UserAuth {
  /**
   * Verifies the request's bearer access token and returns the caller. Throws
   * `FlotillaError('FLT_UNAUTHENTICATED')` (401 with a `WWW-Authenticate` challenge) when the
   * token is missing or invalid, and `FLT_UNAVAILABLE` when the keys cannot be fetched.
   */
  authenticate(request: { headers: HeaderBag }): Promise<User>;
}

// RFC 9068 §2.2: the claims every JWT access token carries.
const REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];
// RFC 9068 §2.1: access tokens are signed; we accept exactly the algorithm our auth server uses.
const ALGORITHMS = ['ES256'];

/**
 * Verifies the caller's RFC 9068 access token inside a service, so that a service never
 * trusts a bare identity header: signature (ES256 only) against the issuer's JWKS,
 * `typ: at+jwt`, issuer, audience, expiry and the required claims.
 *
 * @example
 * const auth = createUserAuth({ issuer: ctx.config.AUTH_ISSUER, audience: 'flixtube-api' });
 * app.get('/videos', async (req) => {
 *   const user = await auth.authenticate(req);
 *   return list(user.sub);
 * });
 */
export function createUserAuth(options: UserAuthOptions): UserAuth {
  const { issuer, audience } = checkOptions(options);
  const realm = (options.realm ?? audience).replace(/["\\]/g, '');
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const jwksOptions = {
    // A token with an unknown `kid` refetches the keys, but not more often than this.
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  };

  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = (): Promise<JWTVerifyGetKey> => {
    keys ??= (async () => {
      const url = options.jwksUrl ?? (await discoverJwksUri(issuer, options.fetch));
      return createRemoteJWKSet(new URL(url), jwksOptions);
    })();
    // A failed discovery is retried by the next request instead of being cached forever.
    keys.catch(() => (keys = undefined));
    return keys;
  };

  const challenge = (error?: 'invalid_token'): Record<string, string> => ({
    // RFC 6750 §3: no error code when the request carried no credentials.
    'WWW-Authenticate': error ? `Bearer realm="${realm}", error="${error}"` : `Bearer realm="${realm}"`,
  });

  return {
    async authenticate(request) {
      const token = bearerToken(request.headers);
      if (!token) {
        throw new FlotillaError('FLT_UNAUTHENTICATED', 'a bearer access token is required', {
          headers: challenge(),
        });
      }
      try {
        const getKey = await keySet();
        const { payload } = await jwtVerify<AccessTokenClaims>(token, getKey, {
          algorithms: ALGORITHMS,
          // RFC 9068 §4: reject tokens whose typ is not at+jwt (jose accepts application/at+jwt too).
          typ: 'at+jwt',
          issuer,
          audience,
          requiredClaims: REQUIRED_CLAIMS,
          clockTolerance,
        });
        if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.client_id !== 'string') {
          throw new errors.JWTInvalid('sub and client_id must be strings');
        }
        return userFromClaims(payload);
      } catch (err) {
        if (isKeySourceFailure(err)) {
          throw new FlotillaError('FLT_UNAVAILABLE', 'cannot verify access tokens right now', {
            cause: err,
            retryable: true,
          });
        }
        // One generic answer for every kind of bad token: no hints, no echo of the token.
        throw new FlotillaError('FLT_UNAUTHENTICATED', 'the access token is invalid or expired', {
          cause: err,
          headers: challenge('invalid_token'),
        });
      }
    },
  };
}

function checkOptions(options: UserAuthOptions): { issuer: string; audience: string } {
  const { issuer, audience, clockToleranceSeconds } = options;
  if (typeof issuer !== 'string' || !URL.canParse(issuer)) {
    throw new TypeError('createUserAuth: issuer must be an absolute URL');
  }
  if (typeof audience !== 'string' || audience === '') {
    throw new TypeError('createUserAuth: audience is required');
  }
  if (options.jwksUrl !== undefined && !URL.canParse(options.jwksUrl)) {
    throw new TypeError('createUserAuth: jwksUrl must be an absolute URL');
  }
  if (
    clockToleranceSeconds !== undefined &&
    !(Number.isInteger(clockToleranceSeconds) && clockToleranceSeconds >= 0 && clockToleranceSeconds <= 300)
  ) {
    throw new TypeError('createUserAuth: clockToleranceSeconds must be an integer from 0 to 300');
  }
  return { issuer, audience };
}

/** The keys could not be had (network, timeout, bad JWKS): our problem, not the caller's. */
function isKeySourceFailure(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  if (err instanceof DiscoveryError) return true;
  // jose raises the plain base class for a non-200 JWKS response or unparsable JSON.
  if (err instanceof errors.JOSEError) return err.code === 'ERR_JOSE_GENERIC';
  return err instanceof TypeError; // fetch failed
}
