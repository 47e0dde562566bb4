export type { ClientConfig, ClientsFile, ResourceConfig } from './clients.js';
export { authConfigSchema } from './config.js';
export { KeyStore, loadKek, Sealer, SIGNING_ALG } from './keys.js';
export { migrations } from './migrations.js';
export {
  EVENTS_PATH,
  LocalRevocationBus,
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  RedisRevocationBus,
  type RevocationBus,
  type RevocationEvent,
  subscribeRevocations,
  type Subscription,
} from './revocation-events/index.js';
export { recordRevocation } from './revocations.js';
export {
  auth,
  type AuthInternals,
  type AuthServiceOptions,
  authInternals,
  createAuthService,
} from './service.js';
export { type RunningAuth, type StartAuthOptions, startAuth } from './start.js';
export { type Argon2Params, DEFAULT_ARGON2, describeArgon2, hashSecret } from './users/password.js';
export { MIN_PASSWORD_LENGTH, type User, UserStore } from './users/store.js';
