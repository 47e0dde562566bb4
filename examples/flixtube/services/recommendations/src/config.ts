import { Type, userAccessSettings } from '@flotilla/kit';

/** recommendations' settings on top of the kit's, read from the environment. */
export const recommendationsConfig = Type.Object({
  ...userAccessSettings,
  METADATA_SERVICE: Type.String({
    default: 'metadata',
    pattern: '^[a-z][a-z0-9-]{0,62}$',
    description: 'the service name recommendations looks videos up in',
  }),
});
