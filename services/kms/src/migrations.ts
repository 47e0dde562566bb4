import type { Migration } from '@flotilla/kit';

/** The KMS's schema: keys, their sealed versions, and the key-usage records. */
export const migrations: readonly Migration[] = [
  {
    id: '001_keys',
    sql: `
CREATE TABLE kms_keys (
  name                   text PRIMARY KEY,
  description            text NOT NULL DEFAULT '',
  state                  text NOT NULL CHECK (state IN ('enabled', 'disabled', 'pending-deletion')),
  current_version        integer NOT NULL,
  min_decryption_version integer NOT NULL DEFAULT 1,
  rotation_days          integer,
  created_at             timestamptz NOT NULL,
  rotated_at             timestamptz,
  deletion_date          timestamptz
);
-- Key material, AES-256-GCM under the root key (AAD: name and version).
CREATE TABLE kms_key_versions (
  key_name   text NOT NULL REFERENCES kms_keys (name) ON DELETE CASCADE,
  version    integer NOT NULL,
  sealed     text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (key_name, version)
);
`,
  },
  {
    id: '002_usage',
    // Kept after a key is destroyed: who used it for what stays answerable.
    sql: `
CREATE TABLE kms_usage (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL,
  caller      text NOT NULL,
  key_name    text NOT NULL,
  key_version integer,
  operation   text NOT NULL,
  context     jsonb NOT NULL,
  outcome     text NOT NULL
);
CREATE INDEX kms_usage_key_at ON kms_usage (key_name, at DESC);
CREATE INDEX kms_usage_key_caller_at ON kms_usage (key_name, caller, at DESC);
`,
  },
];
