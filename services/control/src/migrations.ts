import type { Migration } from '@flotilla/kit';
import { registryMigrations } from './registry/index.js';

/** The control plane's schema: CAs, issued certificates, join tokens and the bundle version. */
export const migrations: readonly Migration[] = [
  {
    id: '001_ca',
    sql: `
CREATE TABLE ca_authorities (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('root', 'intermediate')),
  parent_id     TEXT REFERENCES ca_authorities(id),
  cert_pem      TEXT NOT NULL,
  -- AES-256-GCM under the KEK: never a plain private key (see ca/key-encryption.ts).
  key_iv        TEXT NOT NULL,
  key_tag       TEXT NOT NULL,
  key_ct        TEXT NOT NULL,
  not_after     TIMESTAMPTZ NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  activates_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  retired_at    TIMESTAMPTZ,
  crl_number    BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE ca_certificates (
  serial       TEXT PRIMARY KEY,
  service      TEXT NOT NULL,
  issuer_id    TEXT NOT NULL REFERENCES ca_authorities(id),
  cert_pem     TEXT NOT NULL,
  not_before   TIMESTAMPTZ NOT NULL,
  not_after    TIMESTAMPTZ NOT NULL,
  issued_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at   TIMESTAMPTZ,
  reason       INTEGER
);
CREATE INDEX ca_certificates_service ON ca_certificates (service, not_after);
CREATE INDEX ca_certificates_issuer ON ca_certificates (issuer_id, not_after);
CREATE TABLE ca_join_tokens (
  token_hash   TEXT PRIMARY KEY,
  service      TEXT NOT NULL,
  expires_at   TIMESTAMPTZ NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  used_at      TIMESTAMPTZ
);
CREATE TABLE ca_state (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  bundle_version BIGINT NOT NULL
);
INSERT INTO ca_state (id, bundle_version) VALUES (1, 0);
`,
  },
  ...registryMigrations,
  {
    id: '200_policy_bundle',
    sql: `
CREATE TABLE policy_signing_keys (
  kid         TEXT PRIMARY KEY,
  public_jwk  TEXT NOT NULL,
  -- AES-256-GCM under the KEK, like the CA keys: never a plain private key.
  key_iv      TEXT NOT NULL,
  key_tag     TEXT NOT NULL,
  key_ct      TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE policy_bundle_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  version       BIGINT NOT NULL,
  content_hash  TEXT NOT NULL
);
`,
  },
  {
    id: '201_policy_key_rotation',
    // A rotated-out key stays for one overlap, then is retired: no longer published.
    sql: `ALTER TABLE policy_signing_keys ADD COLUMN retired_at TIMESTAMPTZ;`,
  },
];
