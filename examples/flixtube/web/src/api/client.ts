import { ApiError, failureMessage, type Intent, readProblem } from './errors.js';
import type { History, Video, VideoPage, ViewAccepted } from './types.js';

export interface ApiOptions {
  /** `/api`: the gateway, on the app's own origin. */
  base: string;
  /** The in-memory access token, or undefined when signed out. */
  token: () => string | undefined;
  /** Called on a 401: the token expired or was revoked. */
  onUnauthenticated: () => void;
  fetch?: typeof fetch;
}

export interface Api {
  listVideos(cursor?: string): Promise<VideoPage>;
  getVideo(id: string): Promise<Video>;
  createVideo(input: { title: string; description?: string }): Promise<Video>;
  deleteVideo(id: string): Promise<void>;
  /** Watching a video: metadata checks it and publishes `viewed`; history records it shortly after. */
  recordView(videoId: string): Promise<ViewAccepted>;
  history(): Promise<History>;
}

/** The FlixTube API as the app uses it: bearer token, JSON in and out, errors as `ApiError`. */
export function createApi(opts: ApiOptions): Api {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));

  async function call<T>(intent: Intent, method: string, path: string, body?: unknown): Promise<T> {
    const token = opts.token();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await doFetch(`${opts.base}${path}`, {
        method,
        headers,
        credentials: 'omit',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError(0, failureMessage(0, intent), undefined);
    }
    if (!res.ok) {
      const problem = await readProblem(res);
      if (res.status === 401) opts.onUnauthenticated();
      throw new ApiError(
        res.status,
        failureMessage(res.status, intent, problem, res.headers.get('retry-after')),
        problem,
      );
    }
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  const id = (value: string) => encodeURIComponent(value);
  return {
    listVideos: (cursor) =>
      call('list', 'GET', `/videos${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`),
    getVideo: (videoId) => call('watch', 'GET', `/videos/${id(videoId)}`),
    createVideo: (input) => call('create', 'POST', '/videos', input),
    deleteVideo: (videoId) => call('delete', 'DELETE', `/videos/${id(videoId)}`),
    recordView: (videoId) => call('record-view', 'POST', '/history', { videoId }),
    history: () => call('history', 'GET', '/history'),
  };
}
