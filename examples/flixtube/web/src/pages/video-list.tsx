import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { Video } from '../api/types.js';
import { hrefOf } from '../routes.js';
import { messageOf, useLoad } from '../use-load.js';
import { Poster } from './poster.js';
import { Recommended } from './recommended.js';

interface Props {
  api: Api;
  /** A message from the page before, e.g. "Video deleted". */
  notice?: string | undefined;
}

export function VideoListPage({ api, notice }: Props) {
  const first = useLoad('videos', () => api.listVideos());
  const [more, setMore] = useState<{ videos: Video[]; next: string | null } | undefined>();
  const [moreError, setMoreError] = useState<string | undefined>();

  const videos = [...(first.state === 'done' ? first.value.videos : []), ...(more?.videos ?? [])];
  const next = more ? more.next : first.state === 'done' ? first.value.next : null;

  const loadMore = async () => {
    if (!next) return;
    setMoreError(undefined);
    try {
      const page = await api.listVideos(next);
      setMore({ videos: [...(more?.videos ?? []), ...page.videos], next: page.next });
    } catch (err) {
      setMoreError(messageOf(err));
    }
  };

  return (
    <section aria-labelledby="videos-heading">
      <h1 id="videos-heading">Videos</h1>
      {notice && (
        <p role="status" class="notice" data-testid="notice">
          {notice}
        </p>
      )}
      <Recommended api={api} />
      <h2 id="catalogue-heading">All videos</h2>
      {first.state === 'loading' && <p aria-busy="true">Loading videos…</p>}
      {first.state === 'failed' && (
        <p role="alert" class="error">
          {first.message}
        </p>
      )}
      {first.state === 'done' && videos.length === 0 && <p>No videos yet.</p>}
      <ul class="videos" aria-labelledby="catalogue-heading" data-testid="video-list">
        {videos.map((v) => (
          <li key={v.id} data-testid="video-item" class="with-poster">
            <Poster api={api} videoId={v.id} alt="" class="thumb" />
            <div>
              <a href={hrefOf({ page: 'video', id: v.id })}>{v.title}</a>
              {v.description && <p class="muted">{v.description}</p>}
            </div>
          </li>
        ))}
      </ul>
      {moreError && (
        <p role="alert" class="error">
          {moreError}
        </p>
      )}
      {next && (
        <button type="button" onClick={() => void loadMore()} data-testid="more-videos">
          More videos
        </button>
      )}
    </section>
  );
}
