import { VIDEO_DELETED, VIDEO_UPLOADED, VideoDeleted, VideoUploaded } from '@flixtube/messages';
import { FlotillaError, keepConsuming, type MessageHandler, type ServiceContext } from '@flotilla/kit';
import type { PosterMaker } from './poster-maker.js';

type Ctx = Pick<ServiceContext, 'storage' | 'log'>;

/** The poster's object key in the posters bucket. */
export const posterKey = (videoId: string) => `${videoId}.jpg`;

/**
 * One `video-uploaded`: the poster made and written (over any earlier one, so a
 * redelivered message does the same again: idempotent). A video deleted before its turn
 * gets no poster.
 */
export function makePosterOnUpload(
  ctx: Ctx,
  posters: PosterMaker,
  bucket: string,
): MessageHandler<(typeof VideoUploaded)['schema']> {
  return async ({ videoId, contentType }) => {
    const poster = await posters.make(videoId, contentType);
    if (!poster) {
      ctx.log.info({ videoId }, 'the video is gone: no poster');
      return;
    }
    await ctx.storage.put(bucket, posterKey(videoId), poster.jpeg, {
      contentType: 'image/jpeg',
      contentLength: poster.jpeg.length,
    });
    ctx.log.info({ videoId, bytes: poster.jpeg.length, placeholder: poster.placeholder }, 'poster written');
  };
}

/** One `video-deleted`: the poster deleted; already gone is what we wanted. */
export function deletePosterOnDelete(
  ctx: Ctx,
  bucket: string,
): MessageHandler<(typeof VideoDeleted)['schema']> {
  return async ({ videoId }) => {
    try {
      await ctx.storage.delete(bucket, posterKey(videoId));
    } catch (err) {
      if (!(err instanceof FlotillaError && err.code === 'FLT_NOT_FOUND')) throw err;
    }
    ctx.log.info({ videoId }, 'deleted video: poster deleted');
  };
}

/**
 * The worker's two consumers, kept trying in the background while the broker is not up
 * (`/readyz` reports `bus:video-uploaded` and `bus:video-deleted` until they consume).
 * `concurrency` bounds the ffmpeg runs at once.
 */
export function startConsumers(
  ctx: Ctx & Pick<ServiceContext, 'bus' | 'addCheck' | 'onClose'>,
  handlers: {
    uploaded: MessageHandler<(typeof VideoUploaded)['schema']>;
    deleted: MessageHandler<(typeof VideoDeleted)['schema']>;
  },
  concurrency: number,
): void {
  keepConsuming(ctx, VIDEO_UPLOADED, () =>
    ctx.bus.consume(VIDEO_UPLOADED, VideoUploaded, handlers.uploaded, { prefetch: concurrency }),
  );
  keepConsuming(ctx, VIDEO_DELETED, () => ctx.bus.subscribe(VIDEO_DELETED, VideoDeleted, handlers.deleted));
}
