import { type Static, Type } from '@sinclair/typebox';

/** Where the auth service serves its admin API (mTLS; Cedar decides who may call it). */
export const AUTH_ADMIN_BASE = '/admin/v1';

/** The admin API's routes, as the auth service registers them and the policies name them. */
export const AUTH_ADMIN_ROUTES = {
  listUsers: { method: 'GET', path: `${AUTH_ADMIN_BASE}/users` },
  addUser: { method: 'POST', path: `${AUTH_ADMIN_BASE}/users` },
  disableUser: { method: 'POST', path: `${AUTH_ADMIN_BASE}/users/:username/disable` },
  enableUser: { method: 'POST', path: `${AUTH_ADMIN_BASE}/users/:username/enable` },
  resetMfa: { method: 'POST', path: `${AUTH_ADMIN_BASE}/users/:username/reset-mfa` },
  listKeys: { method: 'GET', path: `${AUTH_ADMIN_BASE}/keys` },
  rotateKeys: { method: 'POST', path: `${AUTH_ADMIN_BASE}/keys/rotate` },
} as const;

/** The shortest password a user may have (OWASP ASVS 2.1.1: at least 12 characters). */
export const MIN_PASSWORD_LENGTH = 12;

export const Username = Type.String({
  pattern: '^[a-zA-Z0-9._@-]{1,64}$',
  description: '1-64 letters, digits or ._@-',
});
export const Role = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' });

export const UsernameParams = Type.Object({ username: Username }, { additionalProperties: false });

export const AddUserRequest = Type.Object(
  {
    username: Username,
    /** Never logged, never audited, stored only as an Argon2id hash. */
    password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
    roles: Type.Array(Role, { minItems: 1, maxItems: 32, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type AddUserRequest = Static<typeof AddUserRequest>;

export const AdminUser = Type.Object({
  id: Type.String(),
  username: Type.String(),
  roles: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  /** Whether TOTP is enrolled. */
  mfa: Type.Boolean(),
});
export type AdminUser = Static<typeof AdminUser>;

export const UserList = Type.Object({ users: Type.Array(AdminUser) });
export const UserAnswer = Type.Object({ user: AdminUser });

export const SigningKeyInfo = Type.Object({
  kid: Type.String(),
  state: Type.Union([Type.Literal('next'), Type.Literal('active'), Type.Literal('retired')]),
  /** ISO 8601. */
  createdAt: Type.String(),
  /** When a retired key leaves the JWKS; null while it is next or active. */
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});
export type SigningKeyInfo = Static<typeof SigningKeyInfo>;

export const KeyList = Type.Object({ keys: Type.Array(SigningKeyInfo) });

export const KeyRotation = Type.Object({
  active: Type.String(),
  next: Type.String(),
  retired: Type.Array(Type.String()),
  /** How long the retired key stays published: the longest lifetime of anything it signed. */
  retainSeconds: Type.Integer(),
});
export type KeyRotation = Static<typeof KeyRotation>;
