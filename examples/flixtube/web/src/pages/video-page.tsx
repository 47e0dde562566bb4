import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { type Permissions, videoPaths } from '../api/permissions.js';
import type { Video } from '../api/types.js';
import { hrefOf } from '../routes.js';
import { messageOf, useLoad } from '../use-load.js';
import { EditVideoForm } from './edit-video.js';
import { LikeButtons } from './like-buttons.js';
import { Player } from './player.js';

interface Props {
  api: Api;
  id: string;
  permissions: Permissions;
  /** After a successful delete: back to the list with a notice. */
  onDeleted: (title: string) => void;
}

/** A video: the player, likes and favorites, and edit/delete for whoever may. Views are recorded by video-streaming. */
export function VideoPage({ api, id, permissions, onDeleted }: Props) {
  const loaded = useLoad(`video:${id}`, () => api.getVideo(id));
  const [edited, setEdited] = useState<Video | undefined>();
  const [editing, setEditing] = useState(false);
  const [deleteError, setDeleteError] = useState<string | undefined>();
  const [deleting, setDeleting] = useState(false);

  if (loaded.state === 'loading') return <p aria-busy="true">Loading the video…</p>;
  if (loaded.state === 'failed') {
    return (
      <section aria-labelledby="video-heading">
        <h1 id="video-heading">Video</h1>
        <p role="alert" class="error">
          {loaded.message}
        </p>
        <a href={hrefOf({ page: 'videos' })}>Back to the videos</a>
      </section>
    );
  }
  const v = edited ?? loaded.value;
  const paths = videoPaths(v.id);
  // Both must say yes: the gateway (the route) and metadata (this video: its owner, MFA).
  // A missing answer hides the action; the server still refuses whatever is hidden.
  const actions = loaded.value.actions;
  const mayEdit = permissions.may('PATCH', paths.video) && actions?.update === true;
  const mayDelete = permissions.may('DELETE', paths.video) && actions?.delete === true;

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
      <Player api={api} videoId={v.id} title={v.title} />
      <LikeButtons api={api} videoId={v.id} permissions={permissions} />
      {v.description && <p data-testid="video-description">{v.description}</p>}
      <p class="muted">
        Added <time dateTime={v.created}>{new Date(v.created).toLocaleString()}</time>
      </p>
      {editing ? (
        <EditVideoForm
          api={api}
          video={v}
          onSaved={(saved) => {
            setEdited(saved);
            setEditing(false);
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        (mayEdit || mayDelete) && (
          <div class="actions">
            {mayEdit && (
              <button type="button" onClick={() => setEditing(true)} data-testid="edit-video-open">
                Edit
              </button>
            )}{' '}
            {mayDelete && (
              <button
                type="button"
                class="danger"
                data-testid="delete-video"
                disabled={deleting}
                onClick={() => void remove()}
              >
                {deleting ? 'Deleting…' : 'Delete video'}
              </button>
            )}
          </div>
        )
      )}
      {deleteError && (
        <p role="alert" class="error" data-testid="delete-error">
          {deleteError}
        </p>
      )}
      <a href={hrefOf({ page: 'videos' })}>Back to the videos</a>
    </article>
  );
}
