import {
  DEMO_VIDEOS,
  type DemoVideo,
  subscribeVideoDeleted,
  type VideoDeletedSource,
} from '@flixtube/common';
import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { type Catalogue, metadataCatalogue } from './catalogue.js';
import { videoUploadConfig } from './config.js';
import { type DemoSeedResult, seedDemoVideos } from './demo-seed.js';
import { uploadRoutes } from './upload-route.js';
import { deleteStoredVideo } from './video-deleted.js';

export interface VideoUploadOptions {
  /** Where catalogue entries go; default metadata over mTLS (`ctx.call`). */
  catalogue?: Catalogue;
  /** Where deletions come from; default the `video-deleted` topic. */
  videoDeleted?: VideoDeletedSource;
  /** The demo videos stored when `UPLOAD_DEMO` is on; default FlixTube's demo catalogue. */
  demoVideos?: readonly DemoVideo[];
  /** Told when the demo seeding has finished (tests wait for it). */
  onDemoSeeded?: (result: DemoSeedResult) => void;
}

/**
 * FlixTube's uploads. The caller's token is verified here (the gateway's check is not
 * trusted alone) and the fleet's Cedar policies decide `video:Upload` again. The file
 * streams through (never buffered) into the storage service's bucket `videos`, sealed
 * there under the bucket's own KMS key; metadata keeps the catalogue entry, owned by the
 * uploader; `video-uploaded` (a queue) tells the thumbnails worker. A `video-deleted`
 * removes the video's object. With `UPLOAD_DEMO`, the demo videos are stored the same way
 * once the service is ready, in the background.
 */
export function createVideoUpload(
  opts: VideoUploadOptions = {},
): Service<typeof videoUploadConfig.properties> {
  return defineService({
    name: 'video-upload',
    config: videoUploadConfig,
    async routes(app, ctx) {
      const { config } = ctx;
      // A big upload on a slow link: the kit's request timeout is sized for JSON APIs.
      app.server.requestTimeout = config.UPLOAD_TIMEOUT_MS;
      const { auth, policy } = await openUserAccess(ctx);
      const catalogue =
        opts.catalogue ??
        metadataCatalogue((service, req) => ctx.call(service, req), config.METADATA_SERVICE);
      const ingest = { ctx, bucket: config.UPLOAD_BUCKET };
      const deletions = (opts.videoDeleted ?? subscribeVideoDeleted)(
        ctx,
        deleteStoredVideo(ctx, config.UPLOAD_BUCKET),
      );
      if (config.UPLOAD_DEMO) {
        const closing = new AbortController();
        ctx.onClose(() => closing.abort());
        // Never in the way of readiness: not awaited, and started once the bus is there
        // (the video-deleted subscription consumes), so the first sends find a broker.
        void (async () => {
          if (deletions && !(await deletions.started)) return;
          const result = await seedDemoVideos(ingest, opts.demoVideos ?? DEMO_VIDEOS, {
            signal: closing.signal,
          });
          opts.onDemoSeeded?.(result);
        })().catch((err: unknown) => ctx.log.error({ err }, 'demo videos could not be stored'));
      }
      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        uploadRoutes(api, { ...ingest, catalogue, policy });
      });
    },
  });
}

export const videoUpload = createVideoUpload();
