import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { Permissions } from '../api/permissions.js';
import { UPLOAD_PATH } from '../api/permissions.js';
import type { Uploaded } from '../api/types.js';
import { checkUpload, UploadError, uploadVideo, VIDEO_TYPES } from '../api/upload.js';

interface Props {
  api: Api;
  permissions: Permissions;
  onUploaded: (video: Uploaded) => void;
}

type Progress = { sent: number; total: number };

/** Uploads a video file with its title: a real progress bar, cancel, and a clear refusal. */
export function UploadPage({ api, permissions, onUploaded }: Props) {
  const [file, setFile] = useState<File | undefined>();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [progress, setProgress] = useState<Progress | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const upload = useRef<AbortController | undefined>(undefined);

  // Leaving the page cancels an upload in flight.
  useEffect(() => () => upload.current?.abort(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const problem = checkUpload(file, title);
    if (problem || !file) return setError(problem);
    const controller = new AbortController();
    upload.current = controller;
    setError(undefined);
    setStatus('Uploading…');
    setProgress({ sent: 0, total: file.size });
    try {
      const video = await uploadVideo({
        base: api.base,
        token: api.token(),
        file,
        title,
        description,
        signal: controller.signal,
        onProgress: (sent, total) => setProgress({ sent, total }),
      });
      setStatus('Uploaded.');
      onUploaded(video);
    } catch (err) {
      if (err instanceof UploadError) {
        setError(err.message);
        setStatus(undefined);
      } else setStatus('The upload was cancelled.');
    } finally {
      if (upload.current === controller) upload.current = undefined;
      setProgress(undefined);
    }
  };

  const busy = progress !== undefined;
  const percent = progress && progress.total > 0 ? Math.round((progress.sent / progress.total) * 100) : 0;

  return (
    <section aria-labelledby="upload-heading">
      <h1 id="upload-heading">Upload a video</h1>
      {!permissions.settled ? (
        <p aria-busy="true">Loading…</p>
      ) : !permissions.may('POST', UPLOAD_PATH) ? (
        <p data-testid="upload-not-allowed">You may not upload videos.</p>
      ) : (
        <form class="upload" onSubmit={(e) => void submit(e)} data-testid="upload-form">
          <label for="upload-file">Video file (MP4 or WebM)</label>
          <input
            id="upload-file"
            type="file"
            accept={VIDEO_TYPES.join(',')}
            required
            disabled={busy}
            onChange={(e) => setFile(e.currentTarget.files?.[0])}
            data-testid="upload-file"
          />
          <label for="upload-title">Title</label>
          <input
            id="upload-title"
            name="title"
            required
            maxLength={200}
            disabled={busy}
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
            data-testid="upload-title"
          />
          <label for="upload-description">Description</label>
          <textarea
            id="upload-description"
            name="description"
            maxLength={5000}
            disabled={busy}
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
            data-testid="upload-description"
          />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy} data-testid="upload-submit">
              {busy ? 'Uploading…' : 'Upload'}
            </button>{' '}
            {busy && (
              <button type="button" onClick={() => upload.current?.abort()} data-testid="upload-cancel">
                Cancel
              </button>
            )}
          </div>
          {progress && (
            <div class="progress">
              <label for="upload-progress">Upload progress</label>
              <progress
                id="upload-progress"
                max={progress.total}
                value={progress.sent}
                data-testid="upload-progress"
              >
                {percent}%
              </progress>
              <span class="muted">{percent}%</span>
            </div>
          )}
          <p role="status" aria-live="polite" class="muted" data-testid="upload-status">
            {status}
          </p>
          {error && (
            <p role="alert" class="error" data-testid="upload-error">
              {error}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
