import {
  callerOf,
  FlotillaError,
  type ServiceApp,
  type ServiceContext,
  type User,
  type UserPolicy,
} from '@flotilla/kit';
import { HistoryBody, HistoryQuery, UserParams } from './history-schemas.js';
import { titlesOf } from './titles.js';
import type { VideoLookup } from '@flixtube/common';
import type { ViewStore } from './view-store.js';

interface Deps {
  store: ViewStore;
  lookup: VideoLookup;
  policy: UserPolicy;
  log: ServiceContext['log'];
}

/** The user's bearer credential, forwarded as is so metadata verifies the user itself. */
function authorizationOf(req: { headers: { authorization?: string | undefined } }): string {
  // requireUser has verified it, so it is present and well-formed.
  return req.headers.authorization as string;
}

/** Only a person has a watch history; an application acting for itself does not. */
function person(user: User): User {
  if (user.kind !== 'user')
    throw new FlotillaError('FLT_FORBIDDEN', 'only a signed-in person has a watch history');
  return user;
}

export function historyRoutes(app: ServiceApp, { store, lookup, policy, log }: Deps): void {
  // Views are not posted here: they arrive as `viewed` messages (see viewed.ts).
  const readHistory = async (
    req: { headers: { authorization?: string | undefined } },
    user: User,
    owner: string,
    limit: number,
  ) => {
    // A user reads only their own history: Cedar decides (flixtube-history-own).
    const resource = {
      uid: { type: 'History', id: owner },
      attrs: { owner: { __entity: { type: 'User', id: owner } } },
    };
    await policy.require(user, 'history:Read', resource, "you may not read another person's history");
    const views = await store.list(owner, limit);
    const titles = await titlesOf(
      views.map((v) => v.videoId),
      lookup,
      authorizationOf(req),
      log,
    );
    return {
      user: owner,
      views: views.map((v) => ({
        ...v,
        title: titles.get(v.videoId) ?? null,
        viewed: v.viewed.toISOString(),
      })),
    };
  };

  app.get(
    '/history',
    { schema: { querystring: HistoryQuery, response: { 200: HistoryBody } } },
    async (req) => {
      const user = person(callerOf(req));
      return readHistory(req, user, user.sub, req.query.limit);
    },
  );

  // For services acting with the user's token (recommendations); the same policy applies.
  app.get(
    '/history/:userId',
    { schema: { params: UserParams, querystring: HistoryQuery, response: { 200: HistoryBody } } },
    async (req) => readHistory(req, person(callerOf(req)), req.params.userId, req.query.limit),
  );
}
