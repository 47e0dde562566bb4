import { defineService, openUserAccess, requireUser, type Service } from '@flotilla/kit';
import { type Catalogue, metadataCatalogue } from './catalogue.js';
import { videoUploadConfig } from './config.js';
import { uploadRoutes } from './upload-route.js';

export interface VideoUploadOptions {
  /** Where catalogue entries go; default metadata over mTLS (`ctx.call`). */
  catalogue?: Catalogue;
}

/**
 * FlixTube's uploads. The caller's token is verified here (the gateway's check is not
 * trusted alone) and the fleet's Cedar policies decide `video:Upload` again. The file
 * streams through (never buffered) into the storage service's bucket `videos`, sealed
 * there under the bucket's own KMS key; metadata keeps the catalogue entry, owned by the
 * uploader; `video-uploaded` (a queue) tells the thumbnails worker.
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
      // An encapsulated scope: the token check covers the API, not /livez, /readyz or /metrics.
      await app.register(async (api) => {
        api.addHook('onRequest', requireUser(auth));
        uploadRoutes(api, { ctx, catalogue, policy, bucket: config.UPLOAD_BUCKET });
      });
    },
  });
}

export const videoUpload = createVideoUpload();
