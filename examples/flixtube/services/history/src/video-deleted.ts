import type { VideoDeletedHandler } from '@flixtube/common';
import type { ServiceContext } from '@flotilla/kit';
import type { ViewStore } from './view-store.js';

/** Forgets a deleted video's views (`video-deleted`); a redelivery changes nothing. */
export function forgetDeleted(store: ViewStore, log: ServiceContext['log']): VideoDeletedHandler {
  return async ({ videoId }) => {
    const views = await store.forgetVideo(videoId);
    log.info({ videoId, views }, 'deleted video: its views forgotten');
  };
}
