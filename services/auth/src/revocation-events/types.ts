/**
 * A revocation a gateway must honour at once. `at` is a NumericDate (seconds): for a
 * `user` or `client` event, deny every token of that subject/client with `iat <= at`.
 */
export interface RevocationEvent {
  type: 'token' | 'grant' | 'user' | 'client';
  /** The access or refresh token's `jti` (type `token`). */
  jti?: string;
  /** Every token carrying this `grant_id` claim is revoked. */
  grantId?: string;
  sub?: string;
  clientId?: string;
  at: number;
}

export interface Subscription {
  close(): Promise<void>;
}

/** Where revocations are published and how they are received; one contract test for all. */
export interface RevocationBus {
  publish(event: RevocationEvent): Promise<void>;
  subscribe(onEvent: (event: RevocationEvent) => void): Promise<Subscription>;
  close(): Promise<void>;
}

export const REVOCATION_CHANNEL = 'flotilla:revocations';

const TYPES = new Set(['token', 'grant', 'user', 'client']);

/** Parses an event received from outside; undefined for anything malformed. */
export function parseRevocationEvent(text: string): RevocationEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!data || typeof data !== 'object') return undefined;
  const e = data as Record<string, unknown>;
  if (typeof e.type !== 'string' || !TYPES.has(e.type) || typeof e.at !== 'number') return undefined;
  const out: RevocationEvent = { type: e.type as RevocationEvent['type'], at: e.at };
  for (const key of ['jti', 'grantId', 'sub', 'clientId'] as const) {
    if (typeof e[key] === 'string') out[key] = e[key];
  }
  return out;
}
