import { Type, userAccessSettings } from '@flotilla/kit';

const ServiceName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' });

/** video-streaming's settings on top of the kit's, read from the environment. */
export const streamingConfig = Type.Object({
  ...userAccessSettings,
  METADATA_SERVICE: { ...ServiceName, default: 'metadata', description: 'where videos are looked up' },
  STORAGE_SERVICE: { ...ServiceName, default: 'storage', description: 'the object storage service' },
  VIDEOS_BUCKET: Type.String({ default: 'videos', minLength: 3, maxLength: 63 }),
  STREAM_KEY_NAME: Type.String({
    default: 'stream-tokens',
    minLength: 1,
    maxLength: 64,
    description: 'the KMS key that seals the stream-token signing key at rest',
  }),
  STREAM_TOKEN_TTL_SECONDS: Type.Integer({
    default: 300,
    minimum: 10,
    maximum: 600,
    description: 'how long a stream token is valid (at most 10 minutes)',
  }),
});
