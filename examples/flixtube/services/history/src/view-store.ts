import { randomUUID } from 'node:crypto';
import type { Queryable } from '@flotilla/kit';

export interface View {
  id: string;
  videoId: string;
  viewed: Date;
}

/** The views table; parameterised SQL only. */
export class ViewStore {
  constructor(private readonly db: Queryable) {}

  /**
   * Records the view a `viewed` message reports, once per message id: a redelivered or
   * retried message changes nothing. Returns whether this call recorded it.
   */
  async recordViewed(messageId: string, viewer: string, videoId: string, viewed: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO views (id, message_id, viewer, video_id, viewed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (message_id) DO NOTHING`,
      [randomUUID(), messageId, viewer, videoId, viewed],
    );
    return rowCount === 1;
  }

  /** A viewer's views, newest first. */
  async list(viewer: string, limit: number): Promise<View[]> {
    const { rows } = await this.db.query<View>(
      `SELECT id, video_id AS "videoId", viewed FROM views WHERE viewer = $1
       ORDER BY viewed DESC, seq DESC LIMIT $2`,
      [viewer, limit],
    );
    return rows;
  }
}
