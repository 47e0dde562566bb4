/**
 * `@flotilla/auth/admin-local`: auth's database opened directly, for the `flotilla users`
 * and `flotilla auth` commands and `flotilla up` until they use the admin API
 * (`AuthAdminClient` in `@flotilla/kit/contracts`) and a plaintext clients file. Nothing
 * new should import it; it goes once nothing does.
 *
 * @deprecated Call the auth service's admin API instead.
 */
export { KeyStore, loadKek, Sealer } from './keys.js';
export { migrations } from './migrations.js';
export { recordRevocation } from './revocations/store.js';
export { type Argon2Params, DEFAULT_ARGON2, describeArgon2, hashSecret } from './users/password.js';
export { MIN_PASSWORD_LENGTH, type User, UserStore } from './users/store.js';
