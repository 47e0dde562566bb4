import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { likesConfig } from './config.js';
import { LikeStore } from './like-store.js';
import {
  busLikedPublisher,
  forgetDeleted,
  type LikedPublisher,
  subscribeVideoDeleted,
  type VideoDeletedSource,
} from './messages.js';
import { likeRoutes } from './routes.js';
import { metadataLookup, type VideoLookup } from '@flixtube/common';

export interface LikesOptions {
  /** How videos are checked; default metadata over mTLS (`ctx.call`). Tests pass a fake. */
  lookup?: VideoLookup;
  /** How likes are announced; default `liked` on the fleet's bus. Tests pass their own. */
  publishLiked?: LikedPublisher;
  /** Where deletions come from; default the `video-deleted` topic. Tests pass a stand-in. */
  videoDeleted?: VideoDeletedSource;
}

/**
 * FlixTube's likes and favorites, a service of its own (see README: its own data and
 * write load; it needs no bucket and metadata needs no likes). It verifies the caller's
 * token itself, asks metadata (with the user's token) whether the video exists and may be
 * watched, lets Cedar decide `video:Like` / `video:Favorite`, announces likes as `liked`
 * and forgets deleted videos from `video-deleted`.
 */
export function createLikes(opts: LikesOptions = {}): Service<typeof likesConfig.properties> {
  return defineService({
    name: 'likes',
    config: likesConfig,
    migrations: { dir: new URL('../migrations', import.meta.url) },
    async routes(app, ctx) {
      const { config } = ctx;
      const { auth, policy } = await openUserAccess(ctx);
      const store = new LikeStore(ctx.db);
      (opts.videoDeleted ?? subscribeVideoDeleted)(ctx, forgetDeleted(store, ctx.log));
      const deps = {
        store,
        lookup: opts.lookup ?? metadataLookup(ctx, config.METADATA_SERVICE),
        policy,
        publish: opts.publishLiked ?? busLikedPublisher(ctx),
        log: ctx.log,
      };
      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        likeRoutes(api, deps);
      });
    },
  });
}

export const likes = createLikes();
