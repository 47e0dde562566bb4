import type { Db } from '@flotilla/kit';

/** A message leased to a consumer. */
export interface Leased {
  id: string;
  queue: string;
  sender: string;
  attempts: number;
  message: Record<string, unknown>;
}

export interface DeadLettered {
  id: string;
  queue: string;
  sender: string;
  attempts: number;
  lastError: string;
  deadAt: Date;
  message: Record<string, unknown>;
}

/** What became of a nacked message. */
export type NackOutcome =
  { outcome: 'retry'; queue: string } | { outcome: 'dead'; queue: string } | undefined;

/**
 * The broker's messages in its database: the database is the truth, so a message is
 * stored before its sender hears "yes", and a lease is a column, so a restart only has to
 * clear the leases of consumers that are gone. Every statement is one round trip and
 * atomic on its own (PGlite and PostgreSQL alike).
 */
export class MessageStore {
  constructor(private readonly db: Db) {}

  /** Stores `message` in each queue (one copy each); resolves with the copies' ids. */
  async insert(queues: readonly string[], sender: string, message: object, now: Date): Promise<string[]> {
    if (queues.length === 0) return [];
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO bus_messages (queue, sender, message, visible_at, created_at)
       SELECT q, $2, $3::jsonb, $4, $4 FROM unnest($1::text[]) AS q
       RETURNING id::text AS id`,
      [queues, sender, JSON.stringify(message), now],
    );
    return rows.map((r) => r.id);
  }

  /** Leases up to `limit` ready messages of `queue` to `consumer`, oldest first. */
  async lease(
    queue: string,
    consumer: string,
    limit: number,
    now: Date,
    visibilityMs: number,
  ): Promise<Leased[]> {
    const { rows } = await this.db.query<{
      id: string;
      queue: string;
      sender: string;
      attempts: number;
      message: unknown;
    }>(
      `UPDATE bus_messages SET lease = $2, leased_until = $4, attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM bus_messages
         WHERE queue = $1 AND lease IS NULL AND visible_at <= $3
         ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)
       RETURNING id::text AS id, queue, sender, attempts, message`,
      [queue, consumer, now, new Date(now.getTime() + visibilityMs), limit],
    );
    return rows
      .map((r) => ({ ...r, message: parseJson(r.message) }))
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  /** Deletes acknowledged messages; only those `consumer` holds the lease of. */
  async ackMany(ids: readonly string[], consumer: string): Promise<Array<{ id: string; queue: string }>> {
    const { rows } = await this.db.query<{ id: string; queue: string }>(
      'DELETE FROM bus_messages WHERE id = ANY($1::bigint[]) AND lease = $2 RETURNING id::text AS id, queue',
      [ids, consumer],
    );
    return rows;
  }

  /**
   * Settles a lease by putting the message back as `message`, ready at `now`, with its
   * delivery count reset: the consumer retries it on purpose. Only `attempt` may differ
   * from what is stored, so a consumer cannot rewrite another service's message.
   */
  async requeue(id: string, consumer: string, message: object, now: Date): Promise<string | undefined> {
    const { rows } = await this.db.query<{ queue: string }>(
      `UPDATE bus_messages SET message = $3::jsonb, lease = NULL, leased_until = NULL, attempts = 0, visible_at = $4
       WHERE id = $1 AND lease = $2 AND (message - 'attempt') = ($3::jsonb - 'attempt')
       RETURNING queue`,
      [id, consumer, JSON.stringify(message), now],
    );
    return rows[0]?.queue;
  }

  /**
   * Gives a leased message back: visible again after `backoffMs` doubled for each
   * attempt so far (at most 30 s), or, after its last attempt (or when `backoffMs` is
   * undefined), moved to the dead letters with `error`.
   */
  async nack(
    id: string,
    consumer: string,
    error: string,
    backoffMs: number | undefined,
    maxAttempts: number,
    now: Date,
  ): Promise<NackOutcome> {
    if (backoffMs !== undefined) {
      const { rows } = await this.db.query<{ queue: string }>(
        `UPDATE bus_messages SET lease = NULL, leased_until = NULL, last_error = $4,
           visible_at = $3::timestamptz + least($6::float8 * power(2, attempts - 1), 30000) * interval '1 millisecond'
         WHERE id = $1 AND lease = $2 AND attempts < $5 RETURNING queue`,
        [id, consumer, now, error, maxAttempts, backoffMs],
      );
      if (rows[0]) return { outcome: 'retry', queue: rows[0].queue };
    }
    const { rows } = await this.db.query<{ queue: string }>(
      `WITH gone AS (DELETE FROM bus_messages WHERE id = $1 AND lease = $2 RETURNING *)
       INSERT INTO bus_dead_letters (id, queue, sender, message, attempts, last_error, dead_at)
       SELECT id, queue, sender, message, attempts, $3, $4 FROM gone
       RETURNING queue`,
      [id, consumer, error, now],
    );
    return rows[0] ? { outcome: 'dead', queue: rows[0].queue } : undefined;
  }

  /** Leases past their time: `[id, consumer]` pairs to nack. */
  async expiredLeases(now: Date): Promise<Array<{ id: string; lease: string }>> {
    const { rows } = await this.db.query<{ id: string; lease: string }>(
      'SELECT id::text AS id, lease FROM bus_messages WHERE lease IS NOT NULL AND leased_until < $1 LIMIT 1000',
      [now],
    );
    return rows;
  }

  /** At start: the consumers of an earlier life are gone, so are their leases. */
  async clearLeases(): Promise<number> {
    const { rowCount } = await this.db.query(
      'UPDATE bus_messages SET lease = NULL, leased_until = NULL WHERE lease IS NOT NULL',
    );
    return rowCount;
  }

  async depths(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ queue: string; n: number }>(
      'SELECT queue, count(*) AS n FROM bus_messages GROUP BY queue',
    );
    return new Map(rows.map((r) => [r.queue, Number(r.n)]));
  }

  /** When the next delayed message of a queue becomes visible (to wake its consumers). */
  async nextVisible(queue: string): Promise<Date | undefined> {
    const { rows } = await this.db.query<{ at: Date | string }>(
      'SELECT min(visible_at) AS at FROM bus_messages WHERE queue = $1 AND lease IS NULL',
      [queue],
    );
    const at = rows[0]?.at;
    return at ? new Date(at) : undefined;
  }

  async subscribe(topic: string, service: string, now: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO bus_subscriptions (topic, service, created_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [topic, service, now],
    );
    return rowCount > 0;
  }

  async subscribers(topic: string): Promise<string[]> {
    const { rows } = await this.db.query<{ service: string }>(
      'SELECT service FROM bus_subscriptions WHERE topic = $1 ORDER BY service',
      [topic],
    );
    return rows.map((r) => r.service);
  }

  async deadLetters(queue: string, limit: number): Promise<DeadLettered[]> {
    const { rows } = await this.db.query<{
      id: string;
      queue: string;
      sender: string;
      attempts: number;
      last_error: string;
      dead_at: Date | string;
      message: unknown;
    }>(
      `SELECT id::text AS id, queue, sender, attempts, last_error, dead_at, message
       FROM bus_dead_letters WHERE queue = $1 ORDER BY id LIMIT $2`,
      [queue, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      queue: r.queue,
      sender: r.sender,
      attempts: r.attempts,
      lastError: r.last_error,
      deadAt: new Date(r.dead_at),
      message: parseJson(r.message),
    }));
  }
}

/** jsonb arrives parsed from pg and PGlite alike; a string is parsed once more to be sure. */
function parseJson(value: unknown): Record<string, unknown> {
  return (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown>;
}
