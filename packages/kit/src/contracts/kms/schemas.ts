import { type Static, Type } from '@sinclair/typebox';

/** Where the KMS serves its API (mTLS; Cedar decides, per key, who may call what). */
export const KMS_BASE = '/v1';

/**
 * The KMS's routes, as the service registers them. Key operations name the key in the
 * path (`Key::"<name>"` is the resource the policies decide on); `decrypt` and
 * `re-encrypt` take it from the ciphertext, which names its key and version.
 */
export const KMS_ROUTES = {
  listKeys: { method: 'GET', path: `${KMS_BASE}/keys` },
  createKey: { method: 'POST', path: `${KMS_BASE}/keys` },
  describeKey: { method: 'GET', path: `${KMS_BASE}/keys/:name` },
  rotateKey: { method: 'POST', path: `${KMS_BASE}/keys/:name/rotate` },
  disableKey: { method: 'POST', path: `${KMS_BASE}/keys/:name/disable` },
  enableKey: { method: 'POST', path: `${KMS_BASE}/keys/:name/enable` },
  scheduleDeletion: { method: 'POST', path: `${KMS_BASE}/keys/:name/schedule-deletion` },
  cancelDeletion: { method: 'POST', path: `${KMS_BASE}/keys/:name/cancel-deletion` },
  setMinDecryptionVersion: { method: 'POST', path: `${KMS_BASE}/keys/:name/min-decryption-version` },
  generateDataKey: { method: 'POST', path: `${KMS_BASE}/keys/:name/generate-data-key` },
  /** Up to {@link MAX_DATA_KEYS_PER_CALL} data keys in one round trip (what the data-key pool uses). */
  generateDataKeys: { method: 'POST', path: `${KMS_BASE}/keys/:name/generate-data-keys` },
  encrypt: { method: 'POST', path: `${KMS_BASE}/keys/:name/encrypt` },
  decrypt: { method: 'POST', path: `${KMS_BASE}/decrypt` },
  reEncrypt: { method: 'POST', path: `${KMS_BASE}/re-encrypt` },
  usage: { method: 'GET', path: `${KMS_BASE}/keys/:name/usage` },
} as const;

export const KeyName = Type.String({
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'lower-case letters, digits and -, 1-63 characters, starting with a letter',
});
export const KeyNameParams = Type.Object({ name: KeyName }, { additionalProperties: false });

/**
 * An encryption context: bound to a ciphertext as AES-GCM additional data, so it decrypts
 * only with the same map; written to every usage record, so it must hold no secret.
 */
export const EncryptionContext = Type.Record(
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.String({ maxLength: 1024 }),
  { maxProperties: 16 },
);
export type EncryptionContext = Static<typeof EncryptionContext>;

/** An opaque ciphertext string: it names its key and key version; never parse it outside the KMS. */
export const Ciphertext = Type.String({ minLength: 1, maxLength: 65_536 });

export const KeyState = Type.Union([
  Type.Literal('enabled'),
  Type.Literal('disabled'),
  Type.Literal('pending-deletion'),
]);

export const KeyMetadata = Type.Object({
  name: KeyName,
  state: KeyState,
  description: Type.String(),
  /** The version new ciphertexts use. */
  currentVersion: Type.Integer({ minimum: 1 }),
  /** Ciphertexts of older versions are refused (Vault transit's `min_decryption_version`). */
  minDecryptionVersion: Type.Integer({ minimum: 1 }),
  /** Automatic rotation every this many days; null: only by hand. */
  rotationDays: Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()]),
  /** ISO 8601. */
  createdAt: Type.String(),
  rotatedAt: Type.Union([Type.String(), Type.Null()]),
  /** When a key pending deletion is destroyed (ISO 8601). */
  deletionDate: Type.Union([Type.String(), Type.Null()]),
});
export type KeyMetadata = Static<typeof KeyMetadata>;

export const CreateKeyRequest = Type.Object(
  {
    name: KeyName,
    description: Type.Optional(Type.String({ maxLength: 256 })),
    rotationDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type CreateKeyRequest = Static<typeof CreateKeyRequest>;

/** AWS KMS: a waiting period of 7 to 30 days before a key is destroyed. */
export const ScheduleDeletionRequest = Type.Object(
  { days: Type.Integer({ minimum: 7, maximum: 30 }) },
  { additionalProperties: false },
);
export const MinDecryptionVersionRequest = Type.Object(
  { version: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);

export const GenerateDataKeyRequest = Type.Object(
  { context: Type.Optional(EncryptionContext) },
  { additionalProperties: false },
);
/** A fresh AES-256 data key: its plaintext (base64, to use and forget) and sealed under the key. */
export const DataKey = Type.Object({
  plaintext: Type.String({ contentEncoding: 'base64' }),
  ciphertext: Ciphertext,
  key: KeyName,
  keyVersion: Type.Integer({ minimum: 1 }),
});
export type DataKey = Static<typeof DataKey>;

/** The most data keys one `generate-data-keys` call returns. */
export const MAX_DATA_KEYS_PER_CALL = 256;
export const GenerateDataKeysRequest = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: MAX_DATA_KEYS_PER_CALL }),
    context: Type.Optional(EncryptionContext),
  },
  { additionalProperties: false },
);
/** Fresh data keys, all under one key version and one context; each is to be used once. */
export const DataKeys = Type.Object({
  key: KeyName,
  keyVersion: Type.Integer({ minimum: 1 }),
  dataKeys: Type.Array(
    Type.Object({ plaintext: Type.String({ contentEncoding: 'base64' }), ciphertext: Ciphertext }),
  ),
});
export type DataKeys = Static<typeof DataKeys>;

/** Small payloads only (AWS KMS: 4 KiB); larger data is enveloped under a data key. */
export const EncryptRequest = Type.Object(
  {
    plaintext: Type.String({ contentEncoding: 'base64', maxLength: 5464 }),
    context: Type.Optional(EncryptionContext),
  },
  { additionalProperties: false },
);
export const Encrypted = Type.Object({
  ciphertext: Ciphertext,
  key: KeyName,
  keyVersion: Type.Integer({ minimum: 1 }),
});
export type Encrypted = Static<typeof Encrypted>;

export const DecryptRequest = Type.Object(
  { ciphertext: Ciphertext, context: Type.Optional(EncryptionContext) },
  { additionalProperties: false },
);
export const Decrypted = Type.Object({
  plaintext: Type.String({ contentEncoding: 'base64' }),
  key: KeyName,
  keyVersion: Type.Integer({ minimum: 1 }),
});
export type Decrypted = Static<typeof Decrypted>;

/** Rewraps to the key's current version without the plaintext leaving the KMS. */
export const ReEncryptRequest = DecryptRequest;

export const KmsKeyList = Type.Object({ keys: Type.Array(KeyMetadata) });

export const UsageQuery = Type.Object(
  {
    /** ISO 8601; default: the last 7 days. */
    since: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);
/** One use of a key, as the key-usage monitor records it. */
export const UsageRecord = Type.Object({
  time: Type.String(),
  /** The caller's SPIFFE ID, or `user:<sub>`. */
  caller: Type.String(),
  key: KeyName,
  keyVersion: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  operation: Type.String(),
  context: EncryptionContext,
  outcome: Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failure')]),
});
export type UsageRecord = Static<typeof UsageRecord>;
export const UsageList = Type.Object({ records: Type.Array(UsageRecord) });
