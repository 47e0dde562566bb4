/**
 * What must survive the trip to the auth server and back: the PKCE verifier, state and
 * nonce. It lives in sessionStorage (this tab only) for the length of the redirect and
 * is deleted as soon as the callback reads it. Tokens are never stored: see `session.ts`.
 */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The app route to return to, e.g. `#/videos/42`. */
  returnTo: string;
  /** A `prompt=none` attempt: a refusal means "show the sign-in button", not an error. */
  silent: boolean;
  createdAt: number;
}

const PENDING = 'flixtube.oidc.pending';
// Not a credential: only "this tab signed in before", so a reload may try prompt=none.
const SIGNED_IN = 'flixtube.oidc.signed-in';
const MAX_AGE_MS = 10 * 60_000;

export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function savePending(store: KeyValueStore, pending: PendingSignIn): void {
  store.setItem(PENDING, JSON.stringify(pending));
}

/** Reads and deletes the pending sign-in; a stale or malformed one counts as none. */
export function takePending(store: KeyValueStore, now = Date.now()): PendingSignIn | undefined {
  const raw = store.getItem(PENDING);
  store.removeItem(PENDING);
  if (!raw) return undefined;
  try {
    const p = JSON.parse(raw) as Partial<PendingSignIn>;
    if (
      typeof p.state !== 'string' ||
      typeof p.nonce !== 'string' ||
      typeof p.codeVerifier !== 'string' ||
      typeof p.returnTo !== 'string' ||
      typeof p.createdAt !== 'number' ||
      now - p.createdAt > MAX_AGE_MS
    ) {
      return undefined;
    }
    return { ...(p as PendingSignIn), returnTo: safeReturnTo(p.returnTo), silent: p.silent === true };
  } catch {
    return undefined;
  }
}

/** Only an in-app route: a stored value must never become an open redirect. */
export function safeReturnTo(value: string): string {
  return /^#\/[\w\-/.~%]*$/.test(value) ? value : '#/';
}

export const signedInMarker = {
  remember: (store: KeyValueStore) => store.setItem(SIGNED_IN, '1'),
  forget: (store: KeyValueStore) => store.removeItem(SIGNED_IN),
  present: (store: KeyValueStore) => store.getItem(SIGNED_IN) === '1',
};
