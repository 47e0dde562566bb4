import { Type } from '@flotilla/kit';

/** metadata's settings on top of the kit's, read from the environment. */
export const metadataConfig = Type.Object({
  // No default: which auth server to trust is a security decision, never a guess.
  AUTH_ISSUER: Type.String({ format: 'uri', description: 'issuer of the access tokens this API accepts' }),
  AUTH_AUDIENCE: Type.String({ default: 'flixtube-api', minLength: 1 }),
  AUTH_JWKS_URL: Type.Optional(
    Type.String({ format: 'uri', description: 'default: discovered from the issuer' }),
  ),
  POLICY_WATCH: Type.Boolean({ default: true, description: 'reload the policies when their files change' }),
  METADATA_SEED: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'at first start, add demo videos owned by this subject (idempotent)',
    }),
  ),
});
