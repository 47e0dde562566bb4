import type { Queryable } from '@flotilla/kit';
import type { Cursor } from './cursor.js';

export interface Favorite {
  videoId: string;
  created: Date;
  seq: number;
}

export interface LikeState {
  likes: number;
  liked: boolean;
  favorited: boolean;
}

/** The likes and favorites tables; parameterised SQL only. Every change reports whether it changed anything. */
export class LikeStore {
  constructor(private readonly db: Queryable) {}

  async like(user: string, videoId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'INSERT INTO likes (user_id, video_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [user, videoId],
    );
    return rowCount > 0;
  }

  async unlike(user: string, videoId: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM likes WHERE user_id = $1 AND video_id = $2', [
      user,
      videoId,
    ]);
    return rowCount > 0;
  }

  async favorite(user: string, videoId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'INSERT INTO favorites (user_id, video_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [user, videoId],
    );
    return rowCount > 0;
  }

  async unfavorite(user: string, videoId: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM favorites WHERE user_id = $1 AND video_id = $2', [
      user,
      videoId,
    ]);
    return rowCount > 0;
  }

  /** The video's like count, and whether this user likes and keeps it as a favorite. */
  async state(user: string, videoId: string): Promise<LikeState> {
    const { rows } = await this.db.query<{ likes: string | number; liked: boolean; favorited: boolean }>(
      `SELECT (SELECT count(*) FROM likes WHERE video_id = $2) AS likes,
              EXISTS (SELECT 1 FROM likes WHERE video_id = $2 AND user_id = $1) AS liked,
              EXISTS (SELECT 1 FROM favorites WHERE video_id = $2 AND user_id = $1) AS favorited`,
      [user, videoId],
    );
    const row = rows[0] as { likes: string | number; liked: boolean; favorited: boolean };
    // count(*) is a bigint: PostgreSQL drivers hand it over as a string.
    return { likes: Number(row.likes), liked: row.liked, favorited: row.favorited };
  }

  /** A user's favorites, newest first; one row more than `limit` when there is more. */
  async favorites(user: string, limit: number, after?: Cursor): Promise<Favorite[]> {
    const cols = 'video_id AS "videoId", created, seq';
    const { rows } = after
      ? await this.db.query<Favorite>(
          `SELECT ${cols} FROM favorites WHERE user_id = $1 AND (created, seq) < ($2, $3)
           ORDER BY created DESC, seq DESC LIMIT $4`,
          [user, after.created, after.seq, limit + 1],
        )
      : await this.db.query<Favorite>(
          `SELECT ${cols} FROM favorites WHERE user_id = $1 ORDER BY created DESC, seq DESC LIMIT $2`,
          [user, limit + 1],
        );
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  }

  /** Forgets every like and favorite of a deleted video; returns how many rows went. */
  async forgetVideo(videoId: string): Promise<number> {
    const a = await this.db.query('DELETE FROM likes WHERE video_id = $1', [videoId]);
    const b = await this.db.query('DELETE FROM favorites WHERE video_id = $1', [videoId]);
    return a.rowCount + b.rowCount;
  }
}
