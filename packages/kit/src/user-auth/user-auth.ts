import { createRemoteJWKSet, customFetch, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import { AccessTokenError, verifyAccessToken } from '../contracts/access-token/index.js';
import { ConfigError, FlotillaError } from '../errors/index.js';
import { bearerToken, type HeaderBag } from './bearer.js';
import { discoverJwksUri } from './oidc-discovery.js';
import { type User, userFromClaims } from './user.js';

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
   * Verifies the request's bearer access token and returns the caller. Throws a 401
   * `FlotillaError` with a `WWW-Authenticate` challenge — `FLT_UNAUTHENTICATED` without a
   * token, `FLT_TOKEN_INVALID` or `FLT_TOKEN_EXPIRED` for a refused one — and
   * `FLT_UNAVAILABLE` when the keys cannot be fetched.
   */
  authenticate(request: { headers: HeaderBag }): Promise<User>;
}

/**
 * Verifies the caller's RFC 9068 access token inside a service, so that a service never
 * trusts a bare identity header: the access-token contract (`verifyAccessToken`: the
 * algorithm allow-list, `typ`, issuer, audience, expiry, required claims) against the
 * issuer's JWKS.
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
  const clockToleranceSeconds = options.clockToleranceSeconds ?? 5;
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
  // Discovery runs inside verification: its failure is the key source's, not the caller's.
  const getKey: JWTVerifyGetKey = async (header, token) => (await keySet())(header, token);

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
        const claims = await verifyAccessToken(token, getKey, { issuer, audience, clockToleranceSeconds });
        return userFromClaims(claims);
      } catch (err) {
        if (!(err instanceof AccessTokenError) || err.code === 'FLT_UNAVAILABLE') {
          throw new FlotillaError('FLT_UNAVAILABLE', 'cannot verify access tokens right now', {
            cause: err,
            retryable: true,
          });
        }
        // One generic answer for every kind of bad token: no hints, no echo of the token.
        throw new FlotillaError(err.code, 'the access token is invalid or expired', {
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
    throw new ConfigError('AUTH_ISSUER', 'createUserAuth: issuer must be an absolute URL');
  }
  if (typeof audience !== 'string' || audience === '') {
    throw new ConfigError('AUTH_AUDIENCE', 'createUserAuth: audience is required');
  }
  if (options.jwksUrl !== undefined && !URL.canParse(options.jwksUrl)) {
    throw new ConfigError('AUTH_JWKS_URL', 'createUserAuth: jwksUrl must be an absolute URL');
  }
  if (
    clockToleranceSeconds !== undefined &&
    !(Number.isInteger(clockToleranceSeconds) && clockToleranceSeconds >= 0 && clockToleranceSeconds <= 300)
  ) {
    throw new ConfigError(
      'clockToleranceSeconds',
      'createUserAuth: clockToleranceSeconds must be an integer from 0 to 300',
    );
  }
  return { issuer, audience };
}
