import { Type } from '@flotilla/kit';

/** storage's settings on top of the kit's, read from the environment. */
export const storageConfig = Type.Object({
  STORAGE_BUCKETS_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'JSON: [{name, maxObjectSize?, contentTypes?, versioning?, policy?, key?}]',
    }),
  ),
  STORAGE_URL: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'file:///path or s3://bucket[/prefix]?endpoint=…; default <FLOTILLA_HOME>/data/storage-objects',
    }),
  ),
  // Server-side encryption is always on; these only choose where the data keys come from.
  STORAGE_KMS_KEY: Type.String({
    default: 'storage',
    pattern: '^[a-z][a-z0-9-]{0,62}$',
    description: 'the KMS key data keys are generated under (kms:GenerateDataKey, kms:Decrypt)',
  }),
  STORAGE_LOCAL_KEY_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'a 0600 file of 32 bytes (created if missing): seal data keys locally instead of with the KMS',
    }),
  ),
  STORAGE_TRANSFER_TIMEOUT_MS: Type.Integer({
    minimum: 0,
    default: 3_600_000,
    description: 'the longest one request may take (a 2 GiB put on a slow link); 0: no limit',
  }),
  // People: optional, for requests the gateway forwards with the user's access token.
  AUTH_ISSUER: Type.Optional(
    Type.String({ format: 'uri', description: 'issuer of user tokens storage accepts' }),
  ),
  AUTH_AUDIENCE: Type.String({ default: 'flotilla-storage', minLength: 1 }),
  AUTH_JWKS_URL: Type.Optional(Type.String({ format: 'uri' })),
});
