import type { Problem } from './types.js';

/** What the user was trying to do, so a refusal can be said in their terms. */
export type Intent =
  | 'list'
  | 'watch'
  | 'create'
  | 'edit'
  | 'delete'
  | 'upload'
  | 'stream'
  | 'like'
  | 'favorite'
  | 'favorites'
  | 'recommendations'
  | 'history';

const FORBIDDEN: Record<Intent, string> = {
  list: 'You may not see the videos.',
  watch: 'You may not watch this video.',
  create: 'You may not add videos.',
  edit: 'You may not edit this video.',
  delete: 'You may not delete this video.',
  upload: 'You may not upload videos.',
  stream: 'You may not watch this video.',
  like: 'You may not like this video.',
  favorite: 'You may not keep this video in your favorites.',
  favorites: 'You may not see favorites.',
  recommendations: 'You may not see recommendations.',
  history: 'You may not see this history.',
};

const NOT_FOUND: Record<Intent, string> = {
  list: 'The video list is not available.',
  watch: 'This video does not exist.',
  create: 'Videos cannot be added right now.',
  edit: 'This video does not exist any more.',
  delete: 'This video does not exist any more.',
  upload: 'Videos cannot be uploaded right now.',
  stream: 'This video cannot be played.',
  like: 'This video does not exist any more.',
  favorite: 'This video does not exist any more.',
  favorites: 'No favorites were found.',
  recommendations: 'No recommendations are available.',
  history: 'No history was found.',
};

/** A failed API call, with the message to show the user. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly problem: Problem | undefined,
  ) {
    super(message);
  }
}

/**
 * The message a person sees for a failed call (pure: unit-tested in Node). Server
 * details are shown only for 4xx validation errors; a 5xx says only "try again".
 */
export function failureMessage(
  status: number,
  intent: Intent,
  problem?: Problem,
  retryAfter?: string | null,
): string {
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return FORBIDDEN[intent];
  if (status === 404) return NOT_FOUND[intent];
  if (status === 429) {
    const seconds = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return seconds === undefined
      ? 'Too many requests. Please wait a moment.'
      : `Too many requests. Please try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
  }
  if (status === 400 || status === 409 || status === 413 || status === 415 || status === 422) {
    return problem?.detail ? `That did not work: ${problem.detail}` : 'That request was not accepted.';
  }
  if (status === 0) return 'FlixTube cannot be reached. Check your connection and try again.';
  return 'FlixTube is having trouble right now. Please try again.';
}

/** Reads a problem+json body if there is one; anything else is ignored. */
export async function readProblem(res: Response): Promise<Problem | undefined> {
  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/(problem\+)?json/.test(type)) return undefined;
  try {
    const body = (await res.json()) as Problem | null;
    return body && typeof body === 'object' ? body : undefined;
  } catch {
    return undefined;
  }
}
