import type { VideoDeletedHandler } from '@flixtube/common';
import { LIKED, Liked } from '@flixtube/messages';
import type { MessageBody, ServiceContext } from '@flotilla/kit';
import type { LikeStore } from './like-store.js';

/** Announces a like or its removal: by default `liked` on the fleet's bus; tests pass their own. */
export type LikedPublisher = (liked: MessageBody<typeof Liked>) => Promise<void>;

export function busLikedPublisher(ctx: ServiceContext): LikedPublisher {
  return async (liked) => {
    await ctx.bus.publish(LIKED, Liked, liked);
  };
}

/** Forgets a deleted video's likes and favorites; doing it again (a redelivery) changes nothing. */
export function forgetDeleted(store: LikeStore, log: ServiceContext['log']): VideoDeletedHandler {
  return async ({ videoId }) => {
    const rows = await store.forgetVideo(videoId);
    log.info({ videoId, rows }, 'deleted video: likes and favorites forgotten');
  };
}

export { subscribeVideoDeleted, type VideoDeletedHandler, type VideoDeletedSource } from '@flixtube/common';
