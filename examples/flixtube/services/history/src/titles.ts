import type { ServiceContext } from '@flotilla/kit';
import type { VideoLookup } from '@flixtube/common';

// Enough to hide metadata's latency without one history page flooding it.
const CONCURRENCY = 8;

/**
 * The titles of the given videos as metadata shows them to this user, each asked once.
 * A video that is gone, hidden, or cannot be asked about gets no title: a history page
 * still shows when metadata is unwell.
 */
export async function titlesOf(
  ids: readonly string[],
  lookup: VideoLookup,
  authorization: string,
  log: ServiceContext['log'],
): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const titles = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const id = unique[next++] as string;
      try {
        const video = await lookup.find(id, authorization);
        if (video) titles.set(id, video.title);
      } catch (err) {
        log.warn({ err, videoId: id }, 'video title lookup failed');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, unique.length) }, worker));
  return titles;
}
