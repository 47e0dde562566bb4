import { Type, userAccessSettings } from '@flotilla/kit';

const serviceName = (what: string, fallback: string) =>
  Type.String({ default: fallback, pattern: '^[a-z][a-z0-9-]{0,62}$', description: what });

/** video-upload's settings on top of the kit's, read from the environment. */
export const videoUploadConfig = Type.Object({
  ...userAccessSettings,
  METADATA_SERVICE: serviceName('the service the catalogue entry is created in', 'metadata'),
  UPLOAD_BUCKET: Type.String({
    default: 'videos',
    minLength: 3,
    maxLength: 63,
    description: "the storage bucket uploads go to (its maxObjectSize is the upload's limit)",
  }),
  UPLOAD_DEMO: Type.Boolean({
    default: false,
    description:
      "once ready, store the demo catalogue's videos (metadata's METADATA_SEED entries) where missing",
  }),
  UPLOAD_TIMEOUT_MS: Type.Integer({
    minimum: 0,
    default: 3_600_000,
    description: 'the longest one upload may take (the kit default is sized for JSON APIs); 0: no limit',
  }),
});
