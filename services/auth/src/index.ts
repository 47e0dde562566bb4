/**
 * `@flotilla/auth`: what the fleet needs to start the auth service — in-process
 * (`startAuth`, for tests and tools) or as a process (`@flotilla/auth/main`) — and its
 * settings. Everything else about auth is reached over its contracts: OIDC, the JWKS,
 * revocation events and the admin API (`@flotilla/kit/contracts`).
 */
export type { ClientConfig, ResourceConfig } from './clients.js';
export { authConfigSchema } from './config.js';
export { type RunningAuth, type StartAuthOptions, startAuth } from './start.js';
