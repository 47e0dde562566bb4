import { FlotillaError } from '../errors/index.js';
import type { HeaderBag } from './bearer.js';
import type { User } from './user.js';
import type { UserAuth } from './user-auth.js';

type Request = { readonly headers: HeaderBag };

// Keyed by the request object: no global augmentation of Fastify's types, no header to forge.
const callers = new WeakMap<Request, User>();

/**
 * A Fastify `onRequest` hook: every route in its scope needs a valid access token. It
 * runs before validation, so an anonymous caller learns nothing about the routes' schemas.
 *
 * @example
 * await app.register(async (api) => {
 *   api.addHook('onRequest', requireUser(auth));
 *   api.get('/videos', async (req) => list(callerOf(req)));
 * });
 */
export function requireUser(auth: UserAuth): (req: Request) => Promise<void> {
  return async (req) => {
    callers.set(req, await auth.authenticate(req));
  };
}

/** The verified caller of a request that passed `requireUser`. */
export function callerOf(req: Request): User {
  const user = callers.get(req);
  if (!user) throw new FlotillaError('FLT_INTERNAL', 'callerOf: the route is not behind requireUser');
  return user;
}
