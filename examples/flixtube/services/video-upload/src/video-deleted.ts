import type { VideoDeletedHandler } from '@flixtube/common';
import { FlotillaError, type ServiceContext } from '@flotilla/kit';

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
