/**
 * `@flotilla/auth`: what the fleet needs to start the auth service — in-process
 * (`startAuth`, for tests and tools) or as a process (`@flotilla/auth/main`) — its
 * settings, and the hashing of client secrets for a clients file written by hand
 * (`flotilla auth hash-secret`). Everything else about auth is reached over its
 * contracts: OIDC, the JWKS, revocation events and the admin API
 * (`@flotilla/kit/contracts`, which `flotilla users` and `flotilla auth` use).
 */
export type { ClientConfig, ResourceConfig } from './clients.js';
export { authConfigSchema } from './config.js';
export { type RunningAuth, type StartAuthOptions, startAuth } from './start.js';
export { type Argon2Params, DEFAULT_ARGON2, describeArgon2, hashSecret } from './users/password.js';
