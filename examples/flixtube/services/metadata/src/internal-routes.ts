import { FlotillaError, type ServiceApp, Type } from '@flotilla/kit';
import { VideoParams } from './video-schemas.js';
import type { VideoStore } from './video-store.js';

const Exists = Type.Object({ id: Type.String() });

/**
 * Routes for other fleet services acting for nobody in particular (no user token): the
 * endpoint policy (policies/services.cedar) says which service may call which, default
 * deny, and the gateway may not reach `/internal/*`. They tell no more than that a video
 * exists. video-streaming asks before each stream, so a deleted video stops streaming.
 */
export function internalRoutes(app: ServiceApp, store: VideoStore): void {
  app.get(
    '/internal/videos/:id',
    { schema: { params: VideoParams, response: { 200: Exists } } },
    async (req) => {
      const video = await store.get(req.params.id);
      if (!video) throw new FlotillaError('FLT_NOT_FOUND', `video ${req.params.id} does not exist`);
      return { id: video.id };
    },
  );
}
