import { callerOf, FlotillaError, type MessageBody, type ServiceApp, type UserPolicy } from '@flotilla/kit';
import type { Viewed } from '@flixtube/messages';
import { videoEntity } from './video-entity.js';
import { RecordView, ViewAccepted } from './video-schemas.js';
import type { VideoStore } from './video-store.js';

/** Announces a view: by default `ctx.bus.publish('viewed', …)`; tests pass their own. */
export type ViewPublisher = (view: MessageBody<typeof Viewed>) => Promise<void>;

/**
 * `POST /views`: the signed-in person watches a video. metadata is where a video's
 * existence and who may watch it are known, so it checks both here, then publishes
 * `viewed` for whoever keeps track (history, recommendations) and answers 202: the view
 * is on its way, not yet in anyone's history.
 */
export function viewRoutes(
  app: ServiceApp,
  store: VideoStore,
  access: UserPolicy,
  publish: ViewPublisher,
): void {
  app.post(
    '/views',
    { schema: { body: RecordView, response: { 202: ViewAccepted } } },
    async (req, reply) => {
      const user = callerOf(req);
      // Only a person watches; an application acting for itself has no history to add to.
      if (user.kind !== 'user')
        throw new FlotillaError('FLT_FORBIDDEN', 'only a signed-in person watches videos');
      const { videoId } = req.body;
      const video = await store.get(videoId);
      if (!video) throw new FlotillaError('FLT_NOT_FOUND', `video ${videoId} does not exist`);
      await access.require(user, 'video:Read', videoEntity(video), 'you may not watch this video');
      const at = new Date().toISOString();
      // The viewer is the verified token's subject, never something the body says.
      await publish({ videoId, userId: user.sub, at });
      return reply.code(202).send({ videoId, viewed: at });
    },
  );
}
