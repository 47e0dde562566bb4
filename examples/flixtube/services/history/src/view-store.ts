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
    // A view of a deleted video is not recorded: the deletion may have come first.
    const { rowCount } = await this.db.query(
      `INSERT INTO views (id, message_id, viewer, video_id, viewed)
       SELECT $1::uuid, $2::text, $3::text, $4::uuid, $5::timestamptz
       WHERE NOT EXISTS (SELECT 1 FROM deleted_videos WHERE video_id = $4::uuid)
       ON CONFLICT (message_id) DO NOTHING`,
      [randomUUID(), messageId, viewer, videoId, viewed],
    );
    return rowCount === 1;
  }

  /**
   * Forgets a deleted video: every view of it, and any that comes later. Doing it again
   * (a redelivered `video-deleted`) changes nothing. Returns the views removed.
   */
  async forgetVideo(videoId: string): Promise<number> {
    await this.db.query(
      'INSERT INTO deleted_videos (video_id) VALUES ($1) ON CONFLICT (video_id) DO NOTHING',
      [videoId],
    );
    const { rowCount } = await this.db.query('DELETE FROM views WHERE video_id = $1', [videoId]);
    return rowCount;
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
