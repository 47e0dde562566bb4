import type { Queryable } from '@flotilla/kit';
import {
  nowSeconds,
  type RevocationEvent,
  type RevocationPublisher,
  type RevocationRequest,
  type RevocationType,
} from '@flotilla/kit/contracts';

interface RevocationRow {
  id: number;
  type: RevocationType;
  jti: string | null;
  grant_id: string | null;
  sub: string | null;
  client_id: string | null;
  at: Date;
}

/** The row as the contract's event: `at` as a NumericDate. */
function toEvent(r: RevocationRow): RevocationEvent {
  const e: RevocationEvent = { type: r.type, at: Math.floor(r.at.getTime() / 1000) };
  if (r.jti) e.jti = r.jti;
  if (r.grant_id) e.grantId = r.grant_id;
  if (r.sub) e.sub = r.sub;
  if (r.client_id) e.clientId = r.client_id;
  return e;
}

/**
 * Records a revocation in the database (the denylist behind introspection of JWT
 * access tokens, kept until the tokens it covers have expired) and publishes it.
 * Used by the admin CLI too, whose rows the running service picks up by polling.
 */
export async function recordRevocation(
  db: Queryable,
  event: RevocationRequest,
  keepSeconds: number,
): Promise<{ id: number; event: RevocationEvent }> {
  const { rows } = await db.query<RevocationRow>(
    `INSERT INTO revocations (type, jti, grant_id, sub, client_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING *`,
    [
      event.type,
      event.jti ?? null,
      event.grantId ?? null,
      event.sub ?? null,
      event.clientId ?? null,
      keepSeconds,
    ],
  );
  const row = rows[0]!;
  return { id: row.id, event: toEvent(row) };
}

/**
 * The auth service's revocations: recorded in its database (introspection and token
 * exchange consult them) and published on the revocation contract's transports.
 */
export class Revocations {
  private cursor = 0;
  private readonly published = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly publisher: RevocationPublisher,
    /** How long a revocation must be remembered: the longest token lifetime plus skew. */
    private readonly keepSeconds: number,
  ) {}

  async revoke(event: RevocationRequest, keepSeconds = this.keepSeconds): Promise<RevocationEvent> {
    const { id, event: recorded } = await recordRevocation(this.db, event, keepSeconds);
    this.published.add(id);
    await this.publisher.publish(recorded);
    return recorded;
  }

  /** True when a token with these claims is covered by a recorded revocation. */
  async isRevoked(claims: { jti?: string; grantId?: string; sub?: string; clientId?: string; iat?: number }) {
    const iat = new Date((claims.iat ?? nowSeconds()) * 1000);
    const { rows } = await this.db.query(
      `SELECT 1 FROM revocations WHERE expires_at > now() AND (
         (type = 'token' AND jti = $1) OR (type = 'grant' AND grant_id = $2)
         OR (type = 'user' AND sub = $3 AND at >= $5) OR (type = 'client' AND client_id = $4 AND at >= $5))
       LIMIT 1`,
      [claims.jti ?? null, claims.grantId ?? null, claims.sub ?? null, claims.clientId ?? null, iat],
    );
    return rows.length > 0;
  }

  /** Publishes rows recorded by other processes (the admin CLI, other replicas). */
  async start(pollMs: number): Promise<void> {
    const { rows } = await this.db.query<{ max: number | null }>(
      'SELECT max(id)::int AS max FROM revocations',
    );
    this.cursor = rows[0]?.max ?? 0;
    this.timer = setInterval(() => void this.poll().catch(() => undefined), pollMs);
    this.timer.unref();
  }

  async poll(): Promise<void> {
    const { rows } = await this.db.query<RevocationRow>(
      'SELECT * FROM revocations WHERE id > $1 ORDER BY id LIMIT 1000',
      [this.cursor],
    );
    for (const row of rows) {
      this.cursor = Math.max(this.cursor, row.id);
      if (this.published.delete(row.id)) continue;
      await this.publisher.publish(toEvent(row));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
