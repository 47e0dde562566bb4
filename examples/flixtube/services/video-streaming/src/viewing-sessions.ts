import type { Queryable } from '@flotilla/kit';

/** Viewing sessions already announced as `viewed`; the table's primary key makes instances agree. */
export class ViewingSessions {
  constructor(private readonly db: Queryable) {}

  /** True for exactly one caller per session, across every instance: the one that announces it. */
  async start(sessionId: string, videoId: string, viewer: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO viewing_sessions (session_id, video_id, viewer) VALUES ($1, $2, $3)
       ON CONFLICT (session_id) DO NOTHING`,
      [sessionId, videoId, viewer],
    );
    return rowCount === 1;
  }

  /** Forgets a session whose announcement failed, so its next request tries again. */
  async forget(sessionId: string): Promise<void> {
    await this.db.query('DELETE FROM viewing_sessions WHERE session_id = $1', [sessionId]);
  }
}
