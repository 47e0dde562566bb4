import type { Queryable } from '@flotilla/kit';

export interface View {
  id: string;
  videoId: string;
  viewed: Date;
}

/** The views table; parameterised SQL only. */
export class ViewStore {
  constructor(private readonly db: Queryable) {}

  async record(id: string, viewer: string, videoId: string): Promise<View> {
    const { rows } = await this.db.query<View>(
      'INSERT INTO views (id, viewer, video_id) VALUES ($1, $2, $3) RETURNING id, video_id AS "videoId", viewed',
      [id, viewer, videoId],
    );
    return rows[0] as View;
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
