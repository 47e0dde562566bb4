import {
  callerOf,
  FlotillaError,
  type ServiceApp,
  type ServiceContext,
  Type,
  type UserPolicy,
} from '@flotilla/kit';
import { posterKey } from './messages.js';

export interface PosterRouteDeps {
  ctx: Pick<ServiceContext, 'storage'>;
  policy: UserPolicy;
  bucket: string;
}

const VideoParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** The gateway route this one is behind: Cedar decides `video:Read` on it again here. */
const POSTER_ROUTE = {
  uid: { type: 'Route', id: 'GET /api/videos/:id/poster' },
  attrs: { method: 'GET', path: '/api/videos/:id/poster' },
};

/**
 * `GET /videos/:id/poster`: the video's poster (image/jpeg), streamed from the posters
 * bucket; 404 problem+json while there is none (not made yet, or the video is gone).
 * Behind the user's access token (the caller registers requireUser).
 */
export function posterRoutes(app: ServiceApp, { ctx, policy, bucket }: PosterRouteDeps): void {
  app.get('/videos/:id/poster', { schema: { params: VideoParams } }, async (req, reply) => {
    await policy.require(callerOf(req), 'video:Read', POSTER_ROUTE, 'you may not see posters');
    const { id } = req.params;
    let poster;
    try {
      poster = await ctx.storage.get(bucket, posterKey(id));
    } catch (err) {
      if (err instanceof FlotillaError && err.code === 'FLT_NOT_FOUND')
        throw new FlotillaError('FLT_NOT_FOUND', `video ${id} has no poster yet`);
      if (err instanceof FlotillaError && err.code === 'FLT_POLICY_DENIED')
        // Storage refusing us is our configuration's fault, not the caller's.
        throw new FlotillaError('FLT_UPSTREAM_FAILED', 'storage refused to read the poster');
      throw err;
    }
    return reply
      .headers({
        'content-type': 'image/jpeg',
        'content-length': String(poster.length),
        etag: poster.etag,
        // Per person (it is behind their token); a poster rarely changes once made.
        'cache-control': 'private, max-age=300',
        'x-content-type-options': 'nosniff',
      })
      .send(poster.body);
  });
}
