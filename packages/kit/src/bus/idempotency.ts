import type { Db, Queryable } from '../db/index.js';

/** How long handled ids are remembered by default: longer than any redelivery or retry takes. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 7 * 24 * 3600 * 1000;

const TABLE = 'flotilla_bus_handled';

/**
 * Runs a handler at most once per message id in effect, with at-least-once delivery
 * underneath: the id is recorded in the service's own database in the same transaction
 * as the handler's writes (`tx`), so either both commit or neither does, and a
 * redelivered or retried message whose id is there is skipped. Ids older than the
 * window are forgotten.
 *
 * @example
 * const once = new Idempotency(ctx.db);
 * await ctx.bus.consume('viewed', Viewed, (body, m) =>
 *   once.run(m.id, (tx) => tx.query('INSERT INTO views (video_id) VALUES ($1)', [body.videoId])),
 * );
 */
export class Idempotency {
  private ready: Promise<void> | undefined;
  private lastPrune = 0;

  constructor(
    private readonly db: Db,
    private readonly windowMs = DEFAULT_IDEMPOTENCY_WINDOW_MS,
  ) {}

  /** Runs `fn` unless `id` was handled within the window; returns whether it ran. */
  async run(id: string, fn: (tx: Queryable) => Promise<void>): Promise<boolean> {
    await (this.ready ??= this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (id text PRIMARY KEY, handled_at timestamptz NOT NULL DEFAULT now())`,
    ));
    await this.prune();
    return this.db.transaction(async (tx) => {
      const claimed = await tx.query(`INSERT INTO ${TABLE} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [
        id,
      ]);
      if (claimed.rowCount === 0) return false;
      await fn(tx);
      return true;
    });
  }

  /** Forgets ids past the window, at most once a minute. */
  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    await this.db.query(`DELETE FROM ${TABLE} WHERE handled_at < $1`, [new Date(now - this.windowMs)]);
  }
}
