export { bearerToken, type HeaderBag } from './bearer.js';
export { DiscoveryError } from './oidc-discovery.js';
export { createUserAuth, type UserAuth, type UserAuthOptions } from './user-auth.js';
export type { User } from './user.js';
export { type CallerEntity, callerEntity } from './user-entity.js';
export { callerOf, requireUser } from './request-user.js';
export { openUserPolicy, type UserPolicy, type UserPolicyOptions } from './user-policy.js';
export { openUserAccess, userAccessSettings } from './user-access.js';
