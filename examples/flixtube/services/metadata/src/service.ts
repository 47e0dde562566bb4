import { VIDEO_DELETED, VideoDeleted } from '@flixtube/messages';
import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { metadataConfig } from './config.js';
import { internalRoutes } from './internal-routes.js';
import { videoRoutes, type DeletePublisher } from './routes.js';
import { seedVideos } from './seed.js';
import { VideoStore } from './video-store.js';

export interface MetadataOptions {
  /** How a deletion is announced; default `video-deleted` on the fleet's bus. Tests pass their own. */
  publishVideoDeleted?: DeletePublisher;
}

/**
 * FlixTube's video catalogue. Every route verifies the caller's access token itself
 * (the gateway's check is not trusted alone) and asks the fleet's Cedar policies
 * (`FLOTILLA_POLICY_DIR`) who may read, change or delete a video. A deletion is published as `video-deleted`, so every service forgets what it kept of it.
 */
export function createMetadata(opts: MetadataOptions = {}): Service<typeof metadataConfig.properties> {
  return defineService({
    name: 'metadata',
    config: metadataConfig,
    migrations: { dir: new URL('../migrations', import.meta.url) },
    async routes(app, ctx) {
      const { config } = ctx;
      const { auth, policy } = await openUserAccess(ctx);
      const store = new VideoStore(ctx.db);
      if (config.METADATA_SEED) await seedVideos(store, config.METADATA_SEED, ctx.log);
      const publishDeleted =
        opts.publishVideoDeleted ??
        (async (deleted) => {
          await ctx.bus.publish(VIDEO_DELETED, VideoDeleted, deleted);
        });

      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        videoRoutes(api, store, policy, publishDeleted, ctx.log);
      });
      // For services without a user token (video-streaming); the endpoint policy decides who.
      await app.register(async (api) => internalRoutes(api, store));
    },
  });
}

export const metadata = createMetadata();
