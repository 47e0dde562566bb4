import { defineService, openUserAccess, requireUser } from '@flotilla/kit';
import { metadataConfig } from './config.js';
import { videoRoutes } from './routes.js';
import { seedVideos } from './seed.js';
import { VideoStore } from './video-store.js';

/**
 * FlixTube's video catalogue. Every route verifies the caller's access token itself
 * (the gateway's check is not trusted alone) and asks the fleet's Cedar policies
 * (`FLOTILLA_POLICY_DIR`) who may read, change or delete a video.
 */
export const metadata = defineService({
  name: 'metadata',
  config: metadataConfig,
  migrations: { dir: new URL('../migrations', import.meta.url) },
  async routes(app, ctx) {
    const { config } = ctx;
    const { auth, policy } = await openUserAccess(ctx);
    const store = new VideoStore(ctx.db);
    if (config.METADATA_SEED) await seedVideos(store, config.METADATA_SEED, ctx.log);

    // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
    await app.register(async (api) => {
      api.addHook('onRequest', requireUser(auth));
      videoRoutes(api, store, policy);
    });
  },
});
