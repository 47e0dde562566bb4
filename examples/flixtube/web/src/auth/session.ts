/** The signed-in user. Held in memory only: a reload forgets it (and signs in silently). */
export interface Session {
  accessToken: string;
  /** For RP-initiated logout (`id_token_hint`). */
  idToken: string | undefined;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  user: { sub: string; name: string; roles: string[] };
}
