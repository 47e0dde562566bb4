import { VIDEO_DELETED, VideoDeleted } from '@flixtube/messages';
import {
  FlotillaError,
  keepConsuming,
  type KeptConsumer,
  type MessageHandler,
  type ServiceContext,
} from '@flotilla/kit';

export type VideoDeletedHandler = MessageHandler<(typeof VideoDeleted)['schema']>;

/** Where deletions come from: by default the `video-deleted` topic; tests without a broker pass their own. */
export type VideoDeletedSource = (
  ctx: ServiceContext,
  handler: VideoDeletedHandler,
) => KeptConsumer | undefined;

/**
 * video-upload's copy of every `video-deleted` (subscriber group `video-upload`). Kept
 * trying in the background while the broker is not up; `/readyz` reports
 * `bus:video-deleted` until it consumes.
 */
export const subscribeVideoDeleted: VideoDeletedSource = (ctx, handler) =>
  keepConsuming(ctx, VIDEO_DELETED, () => ctx.bus.subscribe(VIDEO_DELETED, VideoDeleted, handler));

/**
 * Deletes a deleted video's bytes from the bucket: video-upload holds the bucket's write
 * grant (`iam-video-upload-objects`), so the video is gone from storage, not only from the
 * catalogue. An object already gone (a redelivery) is what we wanted.
 */
export function deleteStoredVideo(
  ctx: Pick<ServiceContext, 'storage' | 'log' | 'audit'>,
  bucket: string,
): VideoDeletedHandler {
  return async ({ videoId }) => {
    try {
      await ctx.storage.delete(bucket, videoId);
    } catch (err) {
      if (err instanceof FlotillaError && err.code === 'FLT_NOT_FOUND') return;
      throw err;
    }
    await ctx.audit({
      actor: 'video-upload',
      action: 'video.delete',
      target: `${bucket}/${videoId}`,
      outcome: 'success',
    });
    ctx.log.info({ videoId }, 'deleted video: its object removed from the bucket');
  };
}
