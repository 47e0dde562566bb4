import { Type, userAccessSettings } from '@flotilla/kit';

/** metadata's settings on top of the kit's, read from the environment. */
export const metadataConfig = Type.Object({
  ...userAccessSettings,
  METADATA_SEED: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'at first start, add demo videos owned by this subject (idempotent)',
    }),
  ),
});
