import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { Video } from '../api/types.js';
import { messageOf } from '../use-load.js';

interface Props {
  api: Api;
  video: Video;
  onSaved: (video: Video) => void;
  onCancel: () => void;
}

/** Edits a video's title and description (`PATCH /api/videos/:id`). */
export function EditVideoForm({ api, video, onSaved, onCancel }: Props) {
  const [title, setTitle] = useState(video.title);
  const [description, setDescription] = useState(video.description);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSaved(await api.updateVideo(video.id, { title: title.trim(), description: description.trim() }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="form"
      aria-labelledby="edit-heading"
      onSubmit={(e) => void submit(e)}
      data-testid="edit-video"
    >
      <h2 id="edit-heading">Edit the video</h2>
      <label for="edit-title">Title</label>
      <input
        id="edit-title"
        required
        maxLength={200}
        value={title}
        onInput={(e) => setTitle(e.currentTarget.value)}
        data-testid="edit-title"
      />
      <label for="edit-description">Description</label>
      <textarea
        id="edit-description"
        maxLength={5000}
        value={description}
        onInput={(e) => setDescription(e.currentTarget.value)}
        data-testid="edit-description"
      />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} data-testid="edit-save">
          {busy ? 'Saving…' : 'Save'}
        </button>{' '}
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {error && (
        <p role="alert" class="error" data-testid="edit-error">
          {error}
        </p>
      )}
    </form>
  );
}
