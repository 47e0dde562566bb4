import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { streamingConfig } from './config.js';
import { streamRoutes, tokenRoutes } from './routes.js';
import { lazyStreamKey } from './stream-keys.js';
import { StreamTokens } from './stream-tokens.js';
import { metadataLookup } from './video-lookup.js';
import { publishOnBus, type ViewedPublisher } from './viewed.js';
import { ViewingSessions } from './viewing-sessions.js';

export interface StreamingOptions {
  /** How views are announced; default `viewed` on the fleet's bus. */
  publishViewed?: ViewedPublisher;
}

/**
 * FlixTube's video streaming. A signed-in user asks for a stream token (metadata, with
 * the user's token, says the video exists and may be watched); the player then streams
 * `GET /videos/:id/stream?token=…` with HTTP Range, read from the `videos` bucket through
 * storage (which only this service may read), and the first request of each viewing
 * session publishes `viewed`.
 */
export function createVideoStreaming(
  opts: StreamingOptions = {},
): Service<typeof streamingConfig.properties> {
  return defineService({
    name: 'video-streaming',
    config: streamingConfig,
    migrations: { dir: new URL('../migrations', import.meta.url) },
    async routes(app, ctx) {
      const { config } = ctx;
      const { auth } = await openUserAccess(ctx);
      const key = lazyStreamKey(ctx.db, ctx.kms, config.STREAM_KEY_NAME);
      // Opened in the background: the KMS may still be starting (the first token retries).
      key().catch((err: unknown) => ctx.log.info({ err }, 'stream-token key not opened yet; will retry'));
      const deps = {
        tokens: new StreamTokens(key, config.STREAM_TOKEN_TTL_SECONDS),
        lookup: metadataLookup(ctx, config.METADATA_SERVICE),
        sessions: new ViewingSessions(ctx.db),
        publish: opts.publishViewed ?? publishOnBus(ctx),
        ctx,
        storage: config.STORAGE_SERVICE,
        bucket: config.VIDEOS_BUCKET,
      };
      // Issuing a token needs the user's access token; streaming needs the stream token only.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        tokenRoutes(api, deps);
      });
      await app.register(async (api) => streamRoutes(api, deps));
    },
  });
}

export const videoStreaming = createVideoStreaming();
