import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { thumbnailsConfig } from './config.js';
import { checkFfmpeg } from './ffmpeg.js';
import { deletePosterOnDelete, makePosterOnUpload, startConsumers } from './messages.js';
import { posterMaker } from './poster-maker.js';
import { posterRoutes } from './routes.js';

/** ffmpeg runs at once in one instance: each is CPU-bound, and instances scale out. */
const CONCURRENCY = 2;

/**
 * FlixTube's thumbnails worker. Each `video-uploaded` (a queue: one worker per upload)
 * becomes a poster: the video read from the `videos` bucket (read only), one frame taken
 * by ffmpeg, a JPEG written to the `posters` bucket as `<videoId>.jpg`. Without ffmpeg on
 * this machine every poster is the shipped placeholder (one warning at start).
 * `video-deleted` deletes the poster; `GET /videos/:id/poster` serves it.
 */
export function createThumbnails(): Service<typeof thumbnailsConfig.properties> {
  return defineService({
    name: 'thumbnails',
    config: thumbnailsConfig,
    async routes(app, ctx) {
      const { config } = ctx;
      const found = await checkFfmpeg(config.FFMPEG_PATH);
      if (found.available) ctx.log.info({ ffmpeg: found.version }, 'posters are made with ffmpeg');
      else
        ctx.log.warn(
          { reason: found.reason },
          'ffmpeg is not available: every poster will be the placeholder (install ffmpeg or set FFMPEG_PATH)',
        );
      const posters = posterMaker({
        storage: ctx.storage,
        log: ctx.log,
        videosBucket: config.VIDEOS_BUCKET,
        ffmpeg: found.available ? config.FFMPEG_PATH : undefined,
        size: config.POSTER_WIDTH,
        timeoutMs: config.FFMPEG_TIMEOUT_MS,
      });
      startConsumers(
        ctx,
        {
          uploaded: makePosterOnUpload(ctx, posters, config.POSTERS_BUCKET),
          deleted: deletePosterOnDelete(ctx, config.POSTERS_BUCKET),
        },
        CONCURRENCY,
      );
      const { auth, policy } = await openUserAccess(ctx);
      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        posterRoutes(api, { ctx, policy, bucket: config.POSTERS_BUCKET });
      });
    },
  });
}

export const thumbnails = createThumbnails();
