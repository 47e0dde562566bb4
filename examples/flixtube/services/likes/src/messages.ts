import { LIKED, Liked, VIDEO_DELETED, VideoDeleted } from '@flixtube/messages';
import { keepConsuming, type MessageBody, type MessageHandler, type ServiceContext } from '@flotilla/kit';
import type { LikeStore } from './like-store.js';

/** Announces a like or its removal: by default `liked` on the fleet's bus; tests pass their own. */
export type LikedPublisher = (liked: MessageBody<typeof Liked>) => Promise<void>;

export type VideoDeletedHandler = MessageHandler<(typeof VideoDeleted)['schema']>;

/** Where deletions come from: by default the `video-deleted` topic; tests without a broker pass their own. */
export type VideoDeletedSource = (ctx: ServiceContext, handler: VideoDeletedHandler) => void;

export function busLikedPublisher(ctx: ServiceContext): LikedPublisher {
  return async (liked) => {
    await ctx.bus.publish(LIKED, Liked, liked);
  };
}

/**
 * likes' copy of every `video-deleted` (subscriber group `likes`). Kept trying in the
 * background when the broker is not up yet; `/readyz` reports `bus:video-deleted` until
 * it consumes.
 */
export const subscribeVideoDeleted: VideoDeletedSource = (ctx, handler) => {
  keepConsuming(ctx, VIDEO_DELETED, () => ctx.bus.subscribe(VIDEO_DELETED, VideoDeleted, handler));
};

/** Forgets a deleted video's likes and favorites; doing it again (a redelivery) changes nothing. */
export function forgetDeleted(store: LikeStore, log: ServiceContext['log']): VideoDeletedHandler {
  return async ({ videoId }) => {
    const rows = await store.forgetVideo(videoId);
    log.info({ videoId, rows }, 'deleted video: likes and favorites forgotten');
  };
}
