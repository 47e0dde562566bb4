import type { PermissionRequest } from './types.js';

/** What the gateway said the signed-in user may do: `may(method, path)`; unknown means no. */
export interface Permissions {
  /** False while the answer is on its way. */
  settled: boolean;
  may(method: PermissionRequest['method'], path: string): boolean;
}

const key = (method: string, path: string) => `${method} ${path}`;

/** Nothing allowed while the answer is on its way. */
export const NO_PERMISSIONS: Permissions = { settled: false, may: () => false };

/** Nothing allowed: the answer failed or cannot be trusted. */
const DENIED: Permissions = { settled: true, may: () => false };

/**
 * Reads `POST /api/permissions`'s answer (pure: unit-tested in Node). The answer must be
 * `{ results: [...] }` with one result per request, in the same order, each naming the
 * same method and path; only `allowed: true` allows. Anything else allows nothing: the
 * page hides an action rather than offer one the server would refuse.
 */
export function readPermissions(requests: readonly PermissionRequest[], body: unknown): Permissions {
  const results = (body as { results?: unknown } | null | undefined)?.results;
  if (!Array.isArray(results) || results.length !== requests.length) return DENIED;
  const allowed = new Set<string>();
  for (const [i, request] of requests.entries()) {
    const r = results[i] as { method?: unknown; path?: unknown; allowed?: unknown } | null;
    if (!r || r.method !== request.method || r.path !== request.path) return DENIED;
    if (r.allowed === true) allowed.add(key(request.method, request.path));
  }
  return { settled: true, may: (method, path) => allowed.has(key(method, path)) };
}

/** The API paths a video's actions use, so the page asks about exactly what it will call. */
export const videoPaths = (id: string) => {
  const video = `/api/videos/${encodeURIComponent(id)}`;
  return { video, like: `${video}/like`, favorite: `${video}/favorite` };
};

export const UPLOAD_PATH = '/api/uploads';

/** The actions a page may offer, asked in one batch: the top bar's, then the page's own. */
export function permissionRequests(videoId: string | undefined): PermissionRequest[] {
  const requests: PermissionRequest[] = [{ method: 'POST', path: UPLOAD_PATH }];
  if (videoId !== undefined) {
    const p = videoPaths(videoId);
    requests.push(
      { method: 'PATCH', path: p.video },
      { method: 'DELETE', path: p.video },
      { method: 'PUT', path: p.like },
      { method: 'PUT', path: p.favorite },
    );
  }
  return requests;
}
