import type { Db } from '@flotilla/kit';

/** One queue as the operator sees it. */
export interface QueueStats {
  queue: string;
  /** Messages held, ready or leased. */
  depth: number;
  /** Of those, leased to a consumer now. */
  inFlight: number;
  dead: number;
}

/** A dead letter as the operator lists it (the message's body stays in the store). */
export interface DeadLetterRow {
  id: string;
  queue: string;
  sender: string;
  attempts: number;
  lastError: string;
  deadAt: Date;
  /** The envelope's `type` and `id`, when the message carries them. */
  type: string | undefined;
  messageId: string | undefined;
}

/** A dead letter moved back to its queue: its new id there. */
export interface Replayed {
  deadId: string;
  id: string;
  queue: string;
}

// The kit's envelope counts its own attempts: a replayed message starts again at 1.
const RESET_ATTEMPT = `CASE WHEN jsonb_typeof(message) = 'object' AND message ? 'attempt'
  THEN jsonb_set(message, '{attempt}', '1'::jsonb) ELSE message END`;

/**
 * The broker's administration queries (`/v1/admin/*`): queue statistics, dead letters
 * and their replay. A replay is one statement — the dead letter deleted and its message
 * inserted at the tail of its queue together — so a crash leaves it in one place or the
 * other, never in both or neither.
 */
export class AdminStore {
  constructor(private readonly db: Db) {}

  /** Every queue holding messages or dead letters, and every subscription queue. */
  async queues(subscriptionQueues: readonly string[]): Promise<QueueStats[]> {
    const { rows } = await this.db.query<{ queue: string; depth: number; in_flight: number; dead: number }>(
      `WITH m AS (SELECT queue, count(*) AS depth, count(lease) AS in_flight FROM bus_messages GROUP BY queue),
            d AS (SELECT queue, count(*) AS dead FROM bus_dead_letters GROUP BY queue),
            s AS (SELECT unnest($1::text[]) AS queue),
            q AS (SELECT queue FROM m UNION SELECT queue FROM d UNION SELECT queue FROM s)
       SELECT q.queue, coalesce(m.depth, 0) AS depth, coalesce(m.in_flight, 0) AS in_flight,
              coalesce(d.dead, 0) AS dead
       FROM q LEFT JOIN m USING (queue) LEFT JOIN d USING (queue) ORDER BY q.queue`,
      [subscriptionQueues],
    );
    return rows.map((r) => ({
      queue: r.queue,
      depth: Number(r.depth),
      inFlight: Number(r.in_flight),
      dead: Number(r.dead),
    }));
  }

  async subscriptions(): Promise<Array<{ topic: string; service: string }>> {
    const { rows } = await this.db.query<{ topic: string; service: string }>(
      'SELECT topic, service FROM bus_subscriptions ORDER BY topic, service',
    );
    return rows;
  }

  /** Dead letters of `queue` (of every queue when undefined), oldest first. */
  async deadLetters(queue: string | undefined, limit: number): Promise<DeadLetterRow[]> {
    const { rows } = await this.db.query<{
      id: string;
      queue: string;
      sender: string;
      attempts: number;
      last_error: string;
      dead_at: Date | string;
      type: string | null;
      message_id: string | null;
    }>(
      `SELECT id::text AS id, queue, sender, attempts, last_error, dead_at,
              message->>'type' AS type, message->>'id' AS message_id
       FROM bus_dead_letters WHERE ($1::text IS NULL OR queue = $1) ORDER BY id LIMIT $2`,
      [queue ?? null, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      queue: r.queue,
      sender: r.sender,
      attempts: r.attempts,
      lastError: r.last_error,
      deadAt: new Date(r.dead_at),
      type: r.type ?? undefined,
      messageId: r.message_id ?? undefined,
    }));
  }

  /** The queue a dead letter came from; undefined for an unknown id. */
  async deadLetterQueue(id: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ queue: string }>(
      'SELECT queue FROM bus_dead_letters WHERE id = $1',
      [id],
    );
    return rows[0]?.queue;
  }

  async deadCounts(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ queue: string; n: number }>(
      'SELECT queue, count(*) AS n FROM bus_dead_letters GROUP BY queue',
    );
    return new Map(rows.map((r) => [r.queue, Number(r.n)]));
  }

  /**
   * Moves dead letters of `queue` back to it, ready now, delivery count and envelope
   * attempt reset: the one with `id`, or all of them when `id` is undefined.
   */
  async replay(queue: string, id: string | undefined, now: Date): Promise<Replayed[]> {
    const { rows } = await this.db.query<{ dead_id: string; id: string; queue: string }>(
      `WITH gone AS (
         DELETE FROM bus_dead_letters WHERE queue = $1 AND ($2::bigint IS NULL OR id = $2) RETURNING *),
       moved AS (
         INSERT INTO bus_messages (queue, sender, message, visible_at, created_at)
         SELECT queue, sender, ${RESET_ATTEMPT}, $3, $3 FROM gone ORDER BY id
         RETURNING id, queue)
       SELECT g.id::text AS dead_id, m.id::text AS id, m.queue
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM gone) g
       JOIN (SELECT id, queue, row_number() OVER (ORDER BY id) AS n FROM moved) m USING (n)`,
      [queue, id ?? null, now],
    );
    return rows.map((r) => ({ deadId: r.dead_id, id: r.id, queue: r.queue }));
  }
}
