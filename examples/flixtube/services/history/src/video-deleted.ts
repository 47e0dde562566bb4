import { VIDEO_DELETED, VideoDeleted } from '@flixtube/messages';
import { keepConsuming, type MessageHandler, type ServiceContext } from '@flotilla/kit';
import type { ViewStore } from './view-store.js';

export type VideoDeletedHandler = MessageHandler<(typeof VideoDeleted)['schema']>;

/** Where deletions come from: by default the `video-deleted` topic; tests without a broker pass their own. */
export type VideoDeletedSource = (ctx: ServiceContext, handler: VideoDeletedHandler) => void;

/**
 * history's copy of every `video-deleted` (subscriber group `history`). Kept trying in the
 * background while the broker is not up; `/readyz` reports `bus:video-deleted` until it consumes.
 */
export const subscribeVideoDeleted: VideoDeletedSource = (ctx, handler) => {
  keepConsuming(ctx, VIDEO_DELETED, () => ctx.bus.subscribe(VIDEO_DELETED, VideoDeleted, handler));
};

/** Forgets a deleted video's views; a redelivery changes nothing. */
export function forgetDeleted(store: ViewStore, log: ServiceContext['log']): VideoDeletedHandler {
  return async ({ videoId }) => {
    const views = await store.forgetVideo(videoId);
    log.info({ videoId, views }, 'deleted video: its views forgotten');
  };
}
