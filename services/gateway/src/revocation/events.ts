/**
 * A revocation event as the auth server publishes it (Redis channel
 * `flotilla:revocations`, or SSE at `GET <auth>/v1/revocations/events`).
 */
export interface RevocationEvent {
  type: 'token' | 'grant' | 'user' | 'client';
  jti?: string;
  grantId?: string;
  sub?: string;
  clientId?: string;
  /** When it took effect: epoch seconds, epoch ms, or an ISO 8601 date. */
  at: number | string;
}

export const REVOCATION_CHANNEL = 'flotilla:revocations';

/** Which field names the revoked thing, per event type. */
export const SUBJECT_FIELD = { token: 'jti', grant: 'grantId', user: 'sub', client: 'clientId' } as const;

/** Validates an event received from outside; returns undefined for anything malformed. */
export function parseRevocationEvent(data: unknown): RevocationEvent | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const e = data as Record<string, unknown>;
  if (typeof e.type !== 'string' || !(e.type in SUBJECT_FIELD)) return undefined;
  const type = e.type as RevocationEvent['type'];
  const id = e[SUBJECT_FIELD[type]];
  if (typeof id !== 'string' || id === '' || id.length > 512) return undefined;
  if (atMs(e.at as RevocationEvent['at']) === undefined) return undefined;
  return { type, [SUBJECT_FIELD[type]]: id, at: e.at as RevocationEvent['at'] };
}

/** The event time in ms since the epoch. Numbers below 1e12 are taken as seconds. */
export function atMs(at: RevocationEvent['at'] | undefined): number | undefined {
  if (typeof at === 'number' && Number.isFinite(at) && at > 0) return at < 1e12 ? at * 1000 : at;
  if (typeof at === 'string') {
    const t = Date.parse(at);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/**
 * How the gateway hears of revocations. Implementations: Redis pub/sub (shared, with the
 * denied ids kept in Redis for replicas that start later), SSE from the auth server, and
 * an in-process bus for tests and single-process runs.
 */
export interface RevocationSubscriber {
  /** Starts delivering events (including already-known ones, where the transport keeps them). */
  start(onEvent: (event: RevocationEvent) => void): Promise<void>;
  /** Whether events can currently arrive; the gateway is unready while this is false. */
  readonly connected: boolean;
  close(): Promise<void>;
}
