import { ConfigError } from '@flotilla/kit';
import { Authenticator } from '../auth/authenticate.js';
import { Introspector } from '../auth/introspection.js';
import { JwtVerifier } from '../auth/verify-jwt.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayRoutesConfig } from '../routes/route-schema.js';
import type { GatewayDeps } from './gateway-deps.js';

/**
 * Bearer-token authentication when a route requires it: JWT access tokens against the auth
 * server's key set, opaque ones by introspection. Issuer and audience have no default, and
 * one of the two ways must be configured: the gateway refuses to start otherwise.
 */
export function buildAuthenticator(
  config: GatewayConfig,
  deps: GatewayDeps,
  routes: GatewayRoutesConfig,
): Authenticator | undefined {
  if (!routes.routes.some((r) => r.auth === 'required')) return undefined;
  for (const setting of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
    if (!config[setting])
      throw new ConfigError(setting, `${setting} is required when a route requires authentication`);
  }
  const jwksUrl = config.AUTH_JWKS_URL;
  const jwt =
    jwksUrl || deps.getKey
      ? new JwtVerifier({
          issuer: config.AUTH_ISSUER!,
          audience: config.AUTH_AUDIENCE!,
          jwksUrl: jwksUrl ?? 'http://unused.invalid/',
          clockToleranceSec: config.JWT_CLOCK_TOLERANCE_S,
          jwksCooldownMs: config.JWKS_COOLDOWN_MS,
          jwksCacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS,
          jwksTimeoutMs: config.JWKS_TIMEOUT_MS,
          cacheSize: config.TOKEN_CACHE_SIZE,
          ...(deps.getKey ? { getKey: deps.getKey } : {}),
        })
      : undefined;
  const introspector = buildIntrospector(config);
  if (!jwt && !introspector)
    throw new ConfigError(
      'AUTH_JWKS_URL',
      'AUTH_JWKS_URL (or INTROSPECTION_URL) is required when a route requires authentication',
    );
  return new Authenticator(jwt, introspector);
}

function buildIntrospector(config: GatewayConfig): Introspector | undefined {
  if (!config.INTROSPECTION_URL) return undefined;
  if (!config.INTROSPECTION_CLIENT_ID || !config.INTROSPECTION_CLIENT_SECRET) {
    throw new ConfigError(
      'INTROSPECTION_CLIENT_ID',
      'INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET are required with INTROSPECTION_URL',
    );
  }
  return new Introspector({
    url: config.INTROSPECTION_URL,
    clientId: config.INTROSPECTION_CLIENT_ID,
    clientSecret: config.INTROSPECTION_CLIENT_SECRET,
    cacheMs: config.INTROSPECTION_CACHE_MS,
    cacheSize: config.TOKEN_CACHE_SIZE,
    timeoutMs: config.JWKS_TIMEOUT_MS,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
}
