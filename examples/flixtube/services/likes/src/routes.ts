import {
  callerOf,
  FlotillaError,
  type ServiceApp,
  type ServiceContext,
  type User,
  type UserPolicy,
} from '@flotilla/kit';
import { decodeCursor, encodeCursor } from './cursor.js';
import { FavoritesPage, FavoritesQuery, LikesBody, VideoParams } from './like-schemas.js';
import type { LikeStore } from './like-store.js';
import type { LikedPublisher } from './messages.js';
import type { VideoLookup, VideoSummary } from '@flixtube/common';

interface Deps {
  store: LikeStore;
  lookup: VideoLookup;
  policy: UserPolicy;
  publish: LikedPublisher;
  log: ServiceContext['log'];
}

type Req = { headers: { authorization?: string | undefined } };

/** Only a person likes or keeps favorites; an application acting for itself does not. */
function person(user: User): User {
  if (user.kind !== 'user') throw new FlotillaError('FLT_FORBIDDEN', 'only a signed-in person likes videos');
  return user;
}

/** The video's Cedar entity, from metadata's answer (the owner is metadata's, not ours). */
const videoEntity = (v: VideoSummary) => ({
  uid: { type: 'Video', id: v.id },
  attrs: { owner: { __entity: { type: 'User', id: v.owner } } },
});

export function likeRoutes(app: ServiceApp, { store, lookup, policy, publish, log }: Deps): void {
  /** The video, as metadata shows it to this user: 404 when it does not exist, 403 when hidden. */
  const videoFor = async (req: Req, id: string): Promise<VideoSummary> => {
    // requireUser has verified the bearer credential, so it is present; forwarded as is
    // so metadata decides for the user, not for likes.
    const video = await lookup.find(id, req.headers.authorization as string);
    if (!video) throw new FlotillaError('FLT_NOT_FOUND', `video ${id} does not exist`);
    return video;
  };

  /**
   * Likes or unlikes, once: a repeat changes nothing and announces nothing. A change is
   * announced as `liked`; when the bus refuses it the change is undone and the caller
   * told, so recommendations never misses a like that stands.
   */
  const setLike = async (req: Req & { params: { id: string } }, like: boolean) => {
    const user = person(callerOf(req));
    const video = await videoFor(req, req.params.id);
    await policy.require(user, 'video:Like', videoEntity(video), 'you may not like this video');
    const changed = like ? await store.like(user.sub, video.id) : await store.unlike(user.sub, video.id);
    if (!changed) return;
    try {
      await publish({ videoId: video.id, userId: user.sub, liked: like, at: new Date().toISOString() });
    } catch (err) {
      await (like ? store.unlike(user.sub, video.id) : store.like(user.sub, video.id));
      log.error({ err, videoId: video.id }, 'liked could not be published; the change is undone');
      throw new FlotillaError('FLT_UNAVAILABLE', 'the like could not be recorded; try again');
    }
  };

  const setFavorite = async (req: Req & { params: { id: string } }, favorite: boolean) => {
    const user = person(callerOf(req));
    const video = await videoFor(req, req.params.id);
    await policy.require(user, 'video:Favorite', videoEntity(video), 'you may not keep this video');
    await (favorite ? store.favorite(user.sub, video.id) : store.unfavorite(user.sub, video.id));
  };

  const params = { schema: { params: VideoParams } };
  app.put('/videos/:id/like', params, async (req, reply) => {
    await setLike(req, true);
    return reply.code(204).send();
  });
  app.delete('/videos/:id/like', params, async (req, reply) => {
    await setLike(req, false);
    return reply.code(204).send();
  });
  app.put('/videos/:id/favorite', params, async (req, reply) => {
    await setFavorite(req, true);
    return reply.code(204).send();
  });
  app.delete('/videos/:id/favorite', params, async (req, reply) => {
    await setFavorite(req, false);
    return reply.code(204).send();
  });

  app.get(
    '/videos/:id/likes',
    { schema: { params: VideoParams, response: { 200: LikesBody } } },
    async (req) => {
      const user = person(callerOf(req));
      // metadata's answer is the read check: a video this user may not watch is a 403.
      const video = await videoFor(req, req.params.id);
      return { videoId: video.id, ...(await store.state(user.sub, video.id)) };
    },
  );

  // The caller's own favorites only: there is no route to read someone else's.
  app.get(
    '/favorites',
    { schema: { querystring: FavoritesQuery, response: { 200: FavoritesPage } } },
    async (req) => {
      const user = person(callerOf(req));
      const { limit, cursor } = req.query;
      const rows = await store.favorites(
        user.sub,
        limit,
        cursor === undefined ? undefined : decodeCursor(cursor),
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        favorites: page.map((f) => ({ videoId: f.videoId, favorited: f.created.toISOString() })),
        next: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );
}
