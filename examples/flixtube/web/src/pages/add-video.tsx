import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { Video } from '../api/types.js';
import { messageOf } from '../use-load.js';

interface Props {
  api: Api;
  onAdded: (video: Video) => void;
}

/** Adds a video's details (uploading the file itself is video-upload's job, later). */
export function AddVideoForm({ api, onAdded }: Props) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const video = await api.createVideo({ title: title.trim(), description: description.trim() });
      setTitle('');
      setDescription('');
      onAdded(video);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="add-video"
      aria-labelledby="add-heading"
      onSubmit={(e) => void submit(e)}
      data-testid="add-video"
    >
      <h2 id="add-heading">Add a video</h2>
      <label for="video-title">Title</label>
      <input
        id="video-title"
        name="title"
        required
        maxLength={200}
        value={title}
        onInput={(e) => setTitle(e.currentTarget.value)}
        data-testid="add-title"
      />
      <label for="video-description">Description</label>
      <textarea
        id="video-description"
        name="description"
        maxLength={5000}
        value={description}
        onInput={(e) => setDescription(e.currentTarget.value)}
        data-testid="add-description"
      />
      <button type="submit" class="primary" disabled={busy} data-testid="add-submit">
        {busy ? 'Adding…' : 'Add video'}
      </button>
      {error && (
        <p role="alert" class="error" data-testid="add-error">
          {error}
        </p>
      )}
    </form>
  );
}
