import { ApiError, failureMessage, type Intent, readProblem } from './errors.js';
import { type Permissions, readPermissions } from './permissions.js';
import type {
  FavoritesPage,
  History,
  Likes,
  PermissionRequest,
  Recommendations,
  StreamTicket,
  Video,
  VideoPage,
} from './types.js';

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
  /** `/api`, for the upload (XMLHttpRequest, see upload.ts). */
  readonly base: string;
  /** The bearer token now, for the upload's own request. */
  token(): string | undefined;
  listVideos(cursor?: string): Promise<VideoPage>;
  getVideo(id: string): Promise<Video>;
  updateVideo(id: string, patch: { title?: string; description?: string }): Promise<Video>;
  deleteVideo(id: string): Promise<void>;
  /** A short-lived URL for the player: `<video>` cannot send the bearer token. */
  streamTicket(id: string): Promise<StreamTicket>;
  /** The poster image, or undefined while there is none (404). */
  poster(id: string): Promise<Blob | undefined>;
  likes(id: string): Promise<Likes>;
  setLiked(id: string, liked: boolean): Promise<void>;
  setFavorite(id: string, favorite: boolean): Promise<void>;
  favorites(cursor?: string): Promise<FavoritesPage>;
  recommendations(): Promise<Recommendations>;
  history(): Promise<History>;
  /** What the signed-in user may do, as the gateway would decide it; fails closed. */
  permissions(requests: readonly PermissionRequest[]): Promise<Permissions>;
}

/** The FlixTube API as the app uses it: bearer token, JSON in and out, errors as `ApiError`. */
export function createApi(opts: ApiOptions): Api {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));

  async function send(intent: Intent, method: string, path: string, body?: unknown): Promise<Response> {
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
    return res;
  }

  async function call<T>(intent: Intent, method: string, path: string, body?: unknown): Promise<T> {
    const res = await send(intent, method, path, body);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  const id = (value: string) => `/videos/${encodeURIComponent(value)}`;
  const page = (cursor?: string) => (cursor ? `?cursor=${encodeURIComponent(cursor)}` : '');
  return {
    base: opts.base,
    token: () => opts.token(),
    listVideos: (cursor) => call('list', 'GET', `/videos${page(cursor)}`),
    getVideo: (videoId) => call('watch', 'GET', id(videoId)),
    updateVideo: (videoId, patch) => call('edit', 'PATCH', id(videoId), patch),
    deleteVideo: (videoId) => call('delete', 'DELETE', id(videoId)),
    streamTicket: (videoId) => call('stream', 'POST', `${id(videoId)}/stream-token`),
    poster: async (videoId) => {
      try {
        return await (await send('watch', 'GET', `${id(videoId)}/poster`)).blob();
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    likes: (videoId) => call('like', 'GET', `${id(videoId)}/likes`),
    setLiked: (videoId, liked) => call('like', liked ? 'PUT' : 'DELETE', `${id(videoId)}/like`),
    setFavorite: (videoId, favorite) =>
      call('favorite', favorite ? 'PUT' : 'DELETE', `${id(videoId)}/favorite`),
    favorites: (cursor) => call('favorites', 'GET', `/favorites${page(cursor)}`),
    recommendations: () => call('recommendations', 'GET', '/recommendations'),
    history: () => call('history', 'GET', '/history'),
    permissions: async (requests) => {
      // Fail closed: whatever goes wrong (404 before the gateway has the route, 5xx, a
      // malformed answer), the page offers nothing; the server refuses anyway.
      try {
        return readPermissions(requests, await call('list', 'POST', '/permissions', { requests }));
      } catch {
        return readPermissions(requests, undefined);
      }
    },
  };
}
