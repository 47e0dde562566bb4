import { Type } from '@flotilla/kit';

/**
 * Settings of the auth service, on top of the kit's. Names are the environment
 * variables that set them. Nothing here weakens security by default: the only
 * relaxations are named `AUTH_DEV_*` and refused when `NODE_ENV=production`.
 */
export const authConfigSchema = Type.Object({
  AUTH_ISSUER: Type.Optional(
    Type.String({
      pattern: '^https?://[^?#]+$',
      description: 'issuer URL; default: the URL the service listens on',
    }),
  ),
  AUTH_CLIENTS_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'JSON or YAML file with clients and resource servers' }),
  ),
  AUTH_BOOTSTRAP_USERS_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'JSON file (mode 0600) { "users": [{ "username", "password", "roles" }] }: users created at start if missing',
    }),
  ),
  AUTH_ACCESS_TOKEN_TTL: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
  AUTH_ID_TOKEN_TTL: Type.Integer({ minimum: 30, maximum: 86_400, default: 3600 }),
  AUTH_REFRESH_TOKEN_TTL: Type.Integer({ minimum: 60, maximum: 90 * 86_400, default: 14 * 86_400 }),
  // OWASP password storage cheat sheet, Argon2id minimum: m=19 MiB, t=2, p=1.
  AUTH_ARGON2_MEMORY_KIB: Type.Integer({ minimum: 8, maximum: 4 * 1024 * 1024, default: 19_456 }),
  AUTH_ARGON2_TIME_COST: Type.Integer({ minimum: 1, maximum: 20, default: 2 }),
  AUTH_ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  AUTH_KEYS_KEK: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{43}$',
      description: 'base64url 256-bit key encrypting private keys at rest; default: a 0600 file',
    }),
  ),
  AUTH_KEYS_POLL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
  AUTH_SWEEP_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
  AUTH_TRUST_PROXY: Type.Boolean({
    default: false,
    description: 'trust X-Forwarded-Proto/-For from a TLS-terminating proxy',
  }),
  AUTH_DEV_INSECURE_HTTP: Type.Boolean({
    default: false,
    description: 'dev/test only: serve the login over plain HTTP with cookies not marked Secure',
  }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  AUTH_LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  AUTH_LOGIN_LOCKOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  AUTH_LOGIN_IP_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  AUTH_TOKEN_RATE_PER_CLIENT: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 6000 }),
  AUTH_TOKEN_RATE_PER_IP: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 12_000 }),
  AUTH_REVOCATION_REPLAY_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 600 }),
});
