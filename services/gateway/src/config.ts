import { type ServiceContext, Type } from '@flotilla/kit';

/**
 * The gateway's settings on top of the kit's (environment, or the `FLOTILLA_CONFIG` file).
 * Security settings have no weakening defaults: issuer, audience and key set are required
 * as soon as a route requires authentication (checked at start).
 */
export const gatewayConfigSchema = Type.Object({
  GATEWAY_WORKERS: Type.String({
    pattern: '^(auto|[1-9]|[1-5][0-9]|6[0-4])$',
    default: '1',
    description:
      'processes serving the edge on the same ports (1–64, or auto: one a CPU); they share rate limits, and one of them suffices on a shared host',
  }),
  GATEWAY_ROUTES_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'routes, upstreams and throttle (JSON or YAML)' }),
  ),
  GATEWAY_UPSTREAMS: Type.Optional(
    Type.String({
      pattern: '^[a-z][a-z0-9-]*=https?://[^,]+(,[a-z][a-z0-9-]*=https?://[^,]+)*$',
      description: 'service=url,… (overrides the routes file)',
    }),
  ),
  AUTH_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'expected `iss`' })),
  AUTH_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'expected `aud` (this API)' })),
  AUTH_JWKS_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: "the auth server's jwks_uri" }),
  ),
  JWT_CLOCK_TOLERANCE_S: Type.Integer({ minimum: 0, maximum: 60, default: 5 }),
  JWKS_COOLDOWN_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
  JWKS_CACHE_MAX_AGE_MS: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 600_000 }),
  JWKS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
  TOKEN_CACHE_SIZE: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 100_000 }),
  INTROSPECTION_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  INTROSPECTION_CLIENT_ID: Type.Optional(Type.String({ minLength: 1 })),
  INTROSPECTION_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  INTROSPECTION_CACHE_MS: Type.Integer({ minimum: 0, maximum: 300_000, default: 30_000 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REVOCATION_EVENTS_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'SSE stream when REDIS_URL is unset' }),
  ),
  DENYLIST_TTL_S: Type.Integer({
    minimum: 60,
    maximum: 2_592_000,
    default: 86_400,
    description: 'longer than any access token lives',
  }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_HOST: Type.Optional(
    Type.String({ minLength: 1, description: 'HTTPS listen address (HOST when unset)' }),
  ),
  TLS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8443 }),
  HTTP_REDIRECT_PORT: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 65535, description: 'plain-HTTP listener that only redirects' }),
  ),
  PUBLIC_HTTPS_PORT: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 65535, description: 'port in redirect URLs (TLS_PORT when unset)' }),
  ),
  MAX_HEADER_BYTES: Type.Integer({ minimum: 1024, maximum: 65_536, default: 16_384 }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 120_000, default: 10_000 }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000 }),
  HSTS_MAX_AGE_S: Type.Integer({ minimum: 0, maximum: 63_072_000, default: 31_536_000 }),
  GATEWAY_WEB_DIR: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'web app to serve on the edge (index.html + assets) for paths no route matches',
    }),
  ),
  GATEWAY_WEB_CONFIG: Type.Optional(
    Type.String({
      minLength: 2,
      description: 'JSON object answered at GET /config.json ({ issuer, clientId, scope, resource?, … })',
    }),
  ),
});

type GatewayConfigProps = (typeof gatewayConfigSchema)['properties'];
/** The gateway's settings as validated at start (the kit's and its own), frozen. */
export type GatewayConfig = Readonly<ServiceContext<GatewayConfigProps>['config']>;
/** What the kit gives the gateway's wiring. */
export type GatewayContext = ServiceContext<GatewayConfigProps>;
