import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { hrefOf } from '../routes.js';
import { messageOf, useLoad } from '../use-load.js';

interface Props {
  api: Api;
  id: string;
  /** After a successful delete: back to the list with a notice. */
  onDeleted: (title: string) => void;
}

export function VideoPage({ api, id, onDeleted }: Props) {
  const video = useLoad(`video:${id}`, () => api.getVideo(id));
  const [deleteError, setDeleteError] = useState<string | undefined>();
  const [deleting, setDeleting] = useState(false);
  const [viewError, setViewError] = useState<string | undefined>();

  // Opening the page is watching the video: record the view once per video.
  useEffect(() => {
    if (video.state !== 'done') return;
    api.recordView(id).then(
      () => setViewError(undefined),
      (err: unknown) => setViewError(messageOf(err)),
    );
  }, [video.state, id, api]);

  if (video.state === 'loading') return <p aria-busy="true">Loading the video…</p>;
  if (video.state === 'failed') {
    return (
      <section aria-labelledby="video-heading">
        <h1 id="video-heading">Video</h1>
        <p role="alert" class="error">
          {video.message}
        </p>
        <a href={hrefOf({ page: 'videos' })}>Back to the videos</a>
      </section>
    );
  }
  const v = video.value;

  const remove = async () => {
    setDeleting(true);
    setDeleteError(undefined);
    try {
      await api.deleteVideo(v.id);
      onDeleted(v.title);
    } catch (err) {
      setDeleteError(messageOf(err));
    } finally {
      setDeleting(false);
    }
  };

  return (
    <article aria-labelledby="video-heading" data-testid="video-page">
      <h1 id="video-heading" data-testid="video-title">
        {v.title}
      </h1>
      <div class="player" role="img" aria-label={`Video: ${v.title}`}>
        ▶
      </div>
      {v.description && <p data-testid="video-description">{v.description}</p>}
      <p class="muted">
        Added <time dateTime={v.created}>{new Date(v.created).toLocaleString()}</time>
      </p>
      {viewError && (
        <p role="status" class="muted" data-testid="view-error">
          {viewError}
        </p>
      )}
      <div class="actions">
        <button
          type="button"
          class="danger"
          data-testid="delete-video"
          disabled={deleting}
          onClick={() => void remove()}
        >
          {deleting ? 'Deleting…' : 'Delete video'}
        </button>
      </div>
      {deleteError && (
        <p role="alert" class="error" data-testid="delete-error">
          {deleteError}
        </p>
      )}
      <a href={hrefOf({ page: 'videos' })}>Back to the videos</a>
    </article>
  );
}
