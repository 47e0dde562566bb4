import { Type } from '@flotilla/kit';

/** The KMS's settings on top of the kit's, read from the environment. */
export const kmsConfigSchema = Type.Object({
  FLOTILLA_KMS_ROOT_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'the root key (base64 of 32 bytes) that seals every key version',
    }),
  ),
  KMS_ROOT_KEY_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'a 0600 file holding the root key (base64 of 32 bytes); `flotilla up` creates it',
    }),
  ),
  KMS_KEYS_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'JSON [{name, description?, rotationDays?}]: keys created at start when missing',
    }),
  ),
  KMS_ANOMALY_WINDOW_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 30,
    description: 'a caller that has not used a key in this many days raises kms.anomaly when it does',
  }),
  KMS_DENIAL_BURST: Type.Integer({
    minimum: 1,
    default: 10,
    description: 'decrypt denials of one key within a minute that raise kms.anomaly',
  }),
  KMS_MAINTENANCE_INTERVAL_MS: Type.Integer({
    minimum: 10,
    default: 60_000,
    description: 'how often automatic rotation and scheduled deletions are run',
  }),
});
