import type { Migration } from '@flotilla/kit';

/** The auth service's schema; shared by the service and the admin CLI. */
export const migrations: readonly Migration[] = [
  {
    id: '001_oidc_models',
    // One table for every oidc-provider model, keyed by model name + id.
    sql: `
CREATE TABLE oidc_models (
  model       text NOT NULL,
  id          text NOT NULL,
  payload     jsonb NOT NULL,
  grant_id    text,
  user_code   text,
  uid         text,
  expires_at  timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id);
CREATE INDEX oidc_models_user_code ON oidc_models (user_code);
CREATE INDEX oidc_models_uid ON oidc_models (uid);
CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at);
`,
  },
  {
    id: '002_users',
    sql: `
CREATE TABLE users (
  id              text PRIMARY KEY,
  username        text NOT NULL UNIQUE,
  password_hash   text NOT NULL,
  roles           jsonb NOT NULL DEFAULT '[]',
  disabled        boolean NOT NULL DEFAULT false,
  totp_secret     text,
  totp_pending    text,
  totp_last_epoch bigint,
  recovery_codes  jsonb NOT NULL DEFAULT '[]',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    id: '003_keys',
    // Private keys are stored as JWE (dir + A256GCM) under the key-encryption key.
    sql: `
CREATE TABLE signing_keys (
  kid        text PRIMARY KEY,
  jwe        text NOT NULL,
  state      text NOT NULL CHECK (state IN ('next', 'active', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  expires_at timestamptz
);
CREATE TABLE secrets (
  name       text PRIMARY KEY,
  jwe        text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    id: '004_revocations',
    // The durable denylist behind introspection of JWT access tokens and the event stream.
    sql: `
CREATE TABLE revocations (
  id         bigserial PRIMARY KEY,
  type       text NOT NULL,
  jti        text,
  grant_id   text,
  sub        text,
  client_id  text,
  at         timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX revocations_jti ON revocations (jti);
CREATE INDEX revocations_grant_id ON revocations (grant_id);
CREATE INDEX revocations_expires_at ON revocations (expires_at);
`,
  },
];
