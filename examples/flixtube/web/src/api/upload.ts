import type { Problem, Uploaded } from './types.js';

/** What video-upload accepts (it checks the declared type against the file's first bytes). */
export const VIDEO_TYPES = ['video/mp4', 'video/webm'] as const;

/** A failed upload, with the message to show; `status` 0 when it never got an answer. */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Checks the form before a byte is sent: the server would refuse these anyway. */
export function checkUpload(file: File | undefined, title: string): string | undefined {
  if (!file) return 'Choose a video file to upload.';
  if (file.size === 0) return 'That file is empty.';
  if (!(VIDEO_TYPES as readonly string[]).includes(file.type))
    return 'Only MP4 and WebM videos can be uploaded.';
  if (title.trim() === '') return 'Give the video a title.';
  return undefined;
}

/** `POST /api/uploads?title=…[&description=…]`: the details travel in the query, the body is the raw file. */
export function uploadUrl(base: string, title: string, description: string): string {
  const q = new URLSearchParams({ title: title.trim() });
  if (description.trim()) q.set('description', description.trim());
  return `${base}/uploads?${q.toString()}`;
}

/**
 * The message for a refused or failed upload (pure: unit-tested in Node). The type and
 * size refusals carry the service's own problem detail, which says what was wrong with
 * the file; a 5xx never shows a server detail.
 */
export function uploadFailure(status: number, problem: Problem | undefined): string {
  const said = (lead: string) => withDetail(lead, problem?.detail);
  switch (status) {
    case 0:
      return 'The upload did not reach FlixTube. Check your connection and try again.';
    case 400:
      return said('The upload was not accepted');
    case 401:
      return 'Your session has ended. Please sign in again.';
    case 403:
      return said('You may not upload videos');
    case 413:
      return said('That file is too large to upload');
    case 415:
      return said('That file is not a video FlixTube accepts (MP4 or WebM)');
    case 429:
      return 'Too many uploads. Please wait a moment.';
    default:
      return 'FlixTube could not store the video right now. Please try again.';
  }
}

/** `lead: detail.`, or `lead.` when there is no detail or it says the same. */
function withDetail(lead: string, detail: string | undefined): string {
  const d = detail?.trim().replace(/\.$/, '');
  return d && d.toLowerCase() !== lead.toLowerCase() ? `${lead}: ${d}.` : `${lead}.`;
}

/** The part of a problem+json body the page uses; anything else is no problem at all. */
export function parseProblem(contentType: string | null, text: string): Problem | undefined {
  if (!/^application\/(problem\+)?json/.test(contentType ?? '')) return undefined;
  try {
    const body = JSON.parse(text) as unknown;
    return body && typeof body === 'object' && !Array.isArray(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

export interface UploadOptions {
  base: string;
  token: string | undefined;
  file: File;
  title: string;
  description: string;
  /** Bytes sent so far out of the total, as the browser reports them. */
  onProgress: (sent: number, total: number) => void;
  signal: AbortSignal;
}

/**
 * Sends the file as the raw body with XMLHttpRequest: fetch reports no upload progress.
 * Rejects with `UploadError`, or with an `AbortError` DOMException when cancelled.
 */
export function uploadVideo(opts: UploadOptions): Promise<Uploaded> {
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(new DOMException('The upload was cancelled.', 'AbortError'));
    const xhr = new XMLHttpRequest();
    xhr.open('POST', uploadUrl(opts.base, opts.title, opts.description));
    xhr.setRequestHeader('content-type', opts.file.type);
    xhr.setRequestHeader('accept', 'application/json');
    if (opts.token) xhr.setRequestHeader('authorization', `Bearer ${opts.token}`);
    xhr.withCredentials = false;
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) opts.onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      const problem = parseProblem(xhr.getResponseHeader('content-type'), xhr.responseText);
      if (xhr.status === 201) {
        try {
          resolve(JSON.parse(xhr.responseText) as Uploaded);
        } catch {
          reject(new UploadError(xhr.status, uploadFailure(500, undefined)));
        }
      } else reject(new UploadError(xhr.status, uploadFailure(xhr.status, problem)));
    });
    xhr.addEventListener('error', () => reject(new UploadError(0, uploadFailure(0, undefined))));
    xhr.addEventListener('abort', () => reject(new DOMException('The upload was cancelled.', 'AbortError')));
    opts.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(opts.file);
  });
}
