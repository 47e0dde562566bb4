import { useEffect, useState } from 'preact/hooks';
import type { Api } from './api/client.js';

export type PosterState = { state: 'loading' } | { state: 'none' } | { state: 'ready'; url: string };

// A fresh upload's poster is made by the thumbnails worker a few seconds later.
const RETRY_MS = 3000;
const RETRIES = 20;

/**
 * The video's poster as a `blob:` URL: `<img>` cannot send the bearer token, so the page
 * fetches the image and shows the bytes. The URL is revoked when the page lets go of it.
 * With `wait`, a missing poster is asked for again for a minute (it may be on its way).
 */
export function usePoster(api: Api, videoId: string, wait = false): PosterState {
  const [poster, setPoster] = useState<PosterState>({ state: 'loading' });
  useEffect(() => {
    let current = true;
    let url: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setPoster({ state: 'loading' });
    const load = (attempt: number) => {
      api.poster(videoId).then(
        (blob) => {
          if (!current) return;
          if (blob) {
            url = URL.createObjectURL(blob);
            setPoster({ state: 'ready', url });
          } else {
            setPoster({ state: 'none' });
            if (wait && attempt < RETRIES) timer = setTimeout(() => load(attempt + 1), RETRY_MS);
          }
        },
        () => current && setPoster({ state: 'none' }),
      );
    };
    load(0);
    return () => {
      current = false;
      clearTimeout(timer);
      if (url) URL.revokeObjectURL(url);
    };
  }, [api, videoId, wait]);
  return poster;
}
