import type { Api } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { hrefOf } from '../routes.js';
import { useLoad } from '../use-load.js';

interface Favorite {
  videoId: string;
  favorited: string;
  /** null when the video is gone or hidden from this user. */
  title: string | null;
}

/** The caller's favorites, each with its title as metadata shows it to them. */
async function loadFavorites(api: Api): Promise<Favorite[]> {
  const { favorites } = await api.favorites();
  return Promise.all(
    favorites.map(async (f) => {
      try {
        return { ...f, title: (await api.getVideo(f.videoId)).title };
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 403))
          return { ...f, title: null };
        throw err;
      }
    }),
  );
}

export function FavoritesPage({ api }: { api: Api }) {
  const list = useLoad('favorites', () => loadFavorites(api));
  return (
    <section aria-labelledby="favorites-heading">
      <h1 id="favorites-heading">Your favorites</h1>
      {list.state === 'loading' && <p aria-busy="true">Loading your favorites…</p>}
      {list.state === 'failed' && (
        <p role="alert" class="error">
          {list.message}
        </p>
      )}
      {list.state === 'done' && list.value.length === 0 && <p>You have no favorites yet.</p>}
      {list.state === 'done' && (
        <ol class="history" data-testid="favorites-list">
          {list.value.map((f) => (
            <li key={f.videoId} data-testid="favorite-item">
              {f.title === null ? (
                <span class="muted">A video that is no longer available</span>
              ) : (
                <a href={hrefOf({ page: 'video', id: f.videoId })}>{f.title}</a>
              )}{' '}
              <time dateTime={f.favorited} class="muted">
                {new Date(f.favorited).toLocaleString()}
              </time>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
