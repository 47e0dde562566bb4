import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { type Permissions, videoPaths } from '../api/permissions.js';
import { messageOf, useLoad } from '../use-load.js';
import type { Likes } from '../api/types.js';

interface Props {
  api: Api;
  videoId: string;
  permissions: Permissions;
}

/** Like and favorite toggles with the like count; each shown only when the user may use it. */
export function LikeButtons({ api, videoId, permissions }: Props) {
  const loaded = useLoad(`likes:${videoId}`, () => api.likes(videoId));
  const [state, setState] = useState<Likes | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const likes = state ?? (loaded.state === 'done' ? loaded.value : undefined);
  const paths = videoPaths(videoId);

  const toggle = async (change: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await change();
      setState(await api.likes(videoId));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (loaded.state === 'failed') return <p class="muted">{loaded.message}</p>;
  if (!likes) return null;
  return (
    <div class="actions" data-testid="likes">
      {permissions.may('PUT', paths.like) ? (
        <button
          type="button"
          aria-pressed={likes.liked}
          disabled={busy}
          onClick={() => void toggle(() => api.setLiked(videoId, !likes.liked))}
          data-testid="like"
        >
          Like
        </button>
      ) : null}{' '}
      <span class="muted" data-testid="like-count" aria-live="polite">
        {likes.likes} {likes.likes === 1 ? 'like' : 'likes'}
      </span>{' '}
      {permissions.may('PUT', paths.favorite) && (
        <button
          type="button"
          aria-pressed={likes.favorited}
          disabled={busy}
          onClick={() => void toggle(() => api.setFavorite(videoId, !likes.favorited))}
          data-testid="favorite"
        >
          Favorite
        </button>
      )}
      {error && (
        <p role="alert" class="error" data-testid="likes-error">
          {error}
        </p>
      )}
    </div>
  );
}
