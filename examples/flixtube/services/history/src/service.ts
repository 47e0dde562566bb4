import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { historyConfig } from './config.js';
import { historyRoutes } from './routes.js';
import {
  metadataLookup,
  subscribeVideoDeleted,
  type VideoDeletedSource,
  type VideoLookup,
} from '@flixtube/common';
import { forgetDeleted } from './video-deleted.js';
import { ViewStore } from './view-store.js';
import { recordViewed, subscribeViewed, type ViewedSource } from './viewed.js';

export interface HistoryOptions {
  /** How videos are looked up; default metadata over mTLS (`ctx.call`). Tests pass a fake. */
  lookup?: VideoLookup;
  /** Where views come from; default the `viewed` topic on the fleet's bus. Tests pass a stand-in. */
  viewed?: ViewedSource;
  /** Where deletions come from; default the `video-deleted` topic. Tests pass a stand-in. */
  videoDeleted?: VideoDeletedSource;
}

/**
 * FlixTube's watch history. Views arrive as `viewed` messages (video-streaming and
 * metadata publish them) and are recorded once per message id; a `video-deleted` forgets
 * the video's views. Reading, it verifies the
 * caller's token itself, asks metadata (over mTLS, with the user's token) what each video
 * is called, and lets the fleet's Cedar policies decide whose history a caller may read.
 */
export function createHistory(opts: HistoryOptions = {}): Service<typeof historyConfig.properties> {
  return defineService({
    name: 'history',
    config: historyConfig,
    migrations: { dir: new URL('../migrations', import.meta.url) },
    async routes(app, ctx) {
      const { config } = ctx;
      const { auth, policy } = await openUserAccess(ctx);
      const store = new ViewStore(ctx.db);
      (opts.viewed ?? subscribeViewed)(ctx, recordViewed(store, ctx.log));
      (opts.videoDeleted ?? subscribeVideoDeleted)(ctx, forgetDeleted(store, ctx.log));
      const deps = {
        store,
        lookup: opts.lookup ?? metadataLookup(ctx, config.METADATA_SERVICE),
        policy,
        log: ctx.log,
      };
      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        historyRoutes(api, deps);
      });
    },
  });
}

export const history = createHistory();
