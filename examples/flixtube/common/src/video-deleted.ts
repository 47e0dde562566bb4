import { VIDEO_DELETED, VideoDeleted } from '@flixtube/messages';
import { keepConsuming, type KeptConsumer, type MessageHandler, type ServiceContext } from '@flotilla/kit';

export type VideoDeletedHandler = MessageHandler<(typeof VideoDeleted)['schema']>;

/**
 * Where deletions come from: by default the `video-deleted` topic (`subscribeVideoDeleted`,
 * which gives back its kept consumer); tests without a broker pass their own and keep the handler.
 */
export type VideoDeletedSource = (ctx: ServiceContext, handler: VideoDeletedHandler) => KeptConsumer | void;

/**
 * A service's copy of every `video-deleted` (subscriber group: the service's name; its
 * instances share the copies). Kept trying in the background while the broker is not up;
 * `/readyz` reports `bus:video-deleted` until it consumes.
 *
 * @example
 * subscribeVideoDeleted(ctx, async ({ videoId }) => store.forgetVideo(videoId));
 */
export const subscribeVideoDeleted: VideoDeletedSource = (ctx, handler) =>
  keepConsuming(ctx, VIDEO_DELETED, () => ctx.bus.subscribe(VIDEO_DELETED, VideoDeleted, handler));
