import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { recommendationsConfig } from './config.js';
import { recommendationRoutes } from './routes.js';
import { SignalStore } from './signal-store.js';
import { signalHandlers, type SignalSource, subscribeSignals } from './signals.js';
import { metadataLookup, type VideoLookup } from '@flixtube/common';

export interface RecommendationsOptions {
  /** How videos are looked up; default metadata over mTLS (`ctx.call`). Tests pass a fake. */
  lookup?: VideoLookup;
  /** Where views, likes and deletions come from; default the fleet's bus. Tests pass a stand-in. */
  signals?: SignalSource;
}

/**
 * FlixTube's recommendations: "people who watched this also watched". It keeps its own
 * copy of views (`viewed`) and likes (`liked`), drops deleted videos (`video-deleted`),
 * and answers a person's `GET /recommendations` from them, asking metadata (with the
 * person's token) what each video is called and whether they may still see it.
 */
export function createRecommendations(
  opts: RecommendationsOptions = {},
): Service<typeof recommendationsConfig.properties> {
  return defineService({
    name: 'recommendations',
    config: recommendationsConfig,
    migrations: { dir: new URL('../migrations', import.meta.url) },
    async routes(app, ctx) {
      const { auth } = await openUserAccess(ctx);
      const store = new SignalStore(ctx.db);
      (opts.signals ?? subscribeSignals)(ctx, signalHandlers(store, ctx.log));
      const deps = {
        store,
        lookup: opts.lookup ?? metadataLookup(ctx, ctx.config.METADATA_SERVICE),
        log: ctx.log,
      };
      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        recommendationRoutes(api, deps);
      });
    },
  });
}

export const recommendations = createRecommendations();
