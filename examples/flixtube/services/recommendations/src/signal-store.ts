import type { Queryable } from '@flotilla/kit';

export interface Candidate {
  videoId: string;
  score: number;
}

/** How much a like counts against a view: a like says more about taste than a view. */
export const LIKE_WEIGHT = 2;

/** What the caller has watched or liked: never recommended back to them. */
const MINE = `SELECT video_id FROM views WHERE user_id = $1
              UNION SELECT video_id FROM likes WHERE user_id = $1 AND liked`;

/** Every person's signal per video: a view counts once however often watched, a like more. */
const SIGNALS = `SELECT user_id, video_id, 1 AS w, max(at) AS at FROM views GROUP BY user_id, video_id
                 UNION ALL SELECT user_id, video_id, ${LIKE_WEIGHT} AS w, at FROM likes WHERE liked`;

interface Row {
  videoId: string;
  score: string | number;
}

/** Views, likes and deleted videos from the bus; parameterised SQL only. */
export class SignalStore {
  constructor(private readonly db: Queryable) {}

  /** Records a view once per message id; a video deleted before it arrived is not recorded. */
  async recordView(messageId: string, user: string, videoId: string, at: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO views (message_id, user_id, video_id, at)
       SELECT $1, $2, $3::uuid, $4 WHERE NOT EXISTS (SELECT 1 FROM deleted_videos WHERE video_id = $3::uuid)
       ON CONFLICT (message_id) DO NOTHING`,
      [messageId, user, videoId, at],
    );
    return rowCount > 0;
  }

  /** Keeps the newest like state per (person, video): a late or repeated message changes nothing. */
  async recordLike(user: string, videoId: string, liked: boolean, at: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO likes (user_id, video_id, liked, at)
       SELECT $1, $2::uuid, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM deleted_videos WHERE video_id = $2::uuid)
       ON CONFLICT (user_id, video_id) DO UPDATE SET liked = EXCLUDED.liked, at = EXCLUDED.at
       WHERE likes.at < EXCLUDED.at`,
      [user, videoId, liked, at],
    );
    return rowCount > 0;
  }

  /** Drops a deleted video and remembers it, so a view that arrives late does not bring it back. */
  async forgetVideo(videoId: string, at: Date): Promise<void> {
    await this.db.query(
      'INSERT INTO deleted_videos (video_id, at) VALUES ($1, $2) ON CONFLICT (video_id) DO NOTHING',
      [videoId, at],
    );
    await this.db.query('DELETE FROM views WHERE video_id = $1', [videoId]);
    await this.db.query('DELETE FROM likes WHERE video_id = $1', [videoId]);
  }

  /**
   * "People who watched this also watched": the people who watched or liked any video the
   * caller watched or liked, and what else they watched (1) or liked (LIKE_WEIGHT), summed
   * per video, excluding the caller's own. Ties go to the most recent activity.
   */
  async coViewed(user: string, limit: number): Promise<Candidate[]> {
    const { rows } = await this.db.query<Row>(
      `WITH mine AS (${MINE}),
            signals AS (${SIGNALS}),
            peers AS (SELECT DISTINCT user_id FROM signals
                      WHERE video_id IN (SELECT video_id FROM mine) AND user_id <> $1)
       SELECT video_id AS "videoId", sum(w) AS score FROM signals
       WHERE user_id IN (SELECT user_id FROM peers) AND video_id NOT IN (SELECT video_id FROM mine)
       GROUP BY video_id ORDER BY score DESC, max(at) DESC, video_id LIMIT $2`,
      [user, limit],
    );
    return rows.map(candidate);
  }

  /** The fallback: the most watched and liked videos, most recent activity first among equals, minus the caller's. */
  async popular(user: string, limit: number): Promise<Candidate[]> {
    const { rows } = await this.db.query<Row>(
      `WITH mine AS (${MINE}), signals AS (${SIGNALS})
       SELECT video_id AS "videoId", sum(w) AS score FROM signals
       WHERE video_id NOT IN (SELECT video_id FROM mine)
       GROUP BY video_id ORDER BY score DESC, max(at) DESC, video_id LIMIT $2`,
      [user, limit],
    );
    return rows.map(candidate);
  }
}

// sum() is a bigint or numeric: PostgreSQL drivers hand it over as a string.
const candidate = (r: Row): Candidate => ({ videoId: r.videoId, score: Number(r.score) });
