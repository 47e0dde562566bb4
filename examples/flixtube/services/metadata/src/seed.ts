import { DEMO_VIDEOS } from '@flixtube/common';
import type { ServiceContext } from '@flotilla/kit';
import type { VideoStore } from './video-store.js';

/**
 * Adds the demo catalogue's entries owned by `owner`, unless they are there already. The
 * ids are fixed (one list, @flixtube/common), so a restart adds nothing, and video-upload
 * (`UPLOAD_DEMO`) stores each entry's video under the same id.
 */
export async function seedVideos(
  store: VideoStore,
  owner: string,
  log: ServiceContext['log'],
): Promise<void> {
  let added = 0;
  for (const { id, title, description } of DEMO_VIDEOS)
    if (await store.ensure({ id, title, description, owner })) added += 1;
  if (added > 0) log.info({ added }, 'demo videos added');
}
