import { LIKED, Liked, VIDEO_DELETED, VideoDeleted, Viewed, VIEWED } from '@flixtube/messages';
import { keepConsuming, type MessageHandler, type ServiceContext } from '@flotilla/kit';
import type { SignalStore } from './signal-store.js';

export interface SignalHandlers {
  viewed: MessageHandler<(typeof Viewed)['schema']>;
  liked: MessageHandler<(typeof Liked)['schema']>;
  videoDeleted: MessageHandler<(typeof VideoDeleted)['schema']>;
}

/** Where signals come from: by default recommendations' subscriptions; tests without a broker pass their own. */
export type SignalSource = (ctx: ServiceContext, handlers: SignalHandlers) => void;

/**
 * recommendations' copies of `viewed`, `liked` and `video-deleted` (subscriber group
 * `recommendations`). The broker may not be up when it starts: each subscription is kept
 * trying in the background, and `/readyz` reports `bus:<topic>` until it consumes.
 */
export const subscribeSignals: SignalSource = (ctx, handlers) => {
  keepConsuming(ctx, VIEWED, () => ctx.bus.subscribe(VIEWED, Viewed, handlers.viewed));
  keepConsuming(ctx, LIKED, () => ctx.bus.subscribe(LIKED, Liked, handlers.liked));
  keepConsuming(ctx, VIDEO_DELETED, () =>
    ctx.bus.subscribe(VIDEO_DELETED, VideoDeleted, handlers.videoDeleted),
  );
};

/** The handlers: each is idempotent, so at-least-once delivery never counts a signal twice. */
export function signalHandlers(store: SignalStore, log: ServiceContext['log']): SignalHandlers {
  return {
    async viewed(view, message) {
      const recorded = await store.recordView(message.id, view.userId, view.videoId, new Date(view.at));
      if (!recorded)
        log.debug({ messageId: message.id }, 'viewed seen before or of a deleted video; not recorded');
    },
    async liked(like) {
      await store.recordLike(like.userId, like.videoId, like.liked, new Date(like.at));
    },
    async videoDeleted({ videoId, at }) {
      await store.forgetVideo(videoId, new Date(at));
      log.info({ videoId }, 'deleted video dropped from recommendations');
    },
  };
}
