import { Type } from '@flotilla/kit';

/** history's settings on top of the kit's, read from the environment. */
export const historyConfig = Type.Object({
  // No default: which auth server to trust is a security decision, never a guess.
  AUTH_ISSUER: Type.String({ format: 'uri', description: 'issuer of the access tokens this API accepts' }),
  AUTH_AUDIENCE: Type.String({ default: 'flixtube-api', minLength: 1 }),
  AUTH_JWKS_URL: Type.Optional(
    Type.String({ format: 'uri', description: 'default: discovered from the issuer' }),
  ),
  POLICY_WATCH: Type.Boolean({ default: true, description: 'reload the policies when their files change' }),
  METADATA_SERVICE: Type.String({
    default: 'metadata',
    pattern: '^[a-z][a-z0-9-]{0,62}$',
    description: 'the service name history looks videos up in',
  }),
});
