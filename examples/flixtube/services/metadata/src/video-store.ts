import type { Queryable } from '@flotilla/kit';
import type { Cursor } from './cursor.js';

export interface Video {
  id: string;
  /** Insertion order; internal, never shown (the cursor hides it). */
  seq: number;
  title: string;
  description: string;
  owner: string;
  created: Date;
}

const COLUMNS = 'id, seq, title, description, owner, created';

export type NewVideo = Pick<Video, 'id' | 'title' | 'description' | 'owner'>;

/** The videos table; parameterised SQL only. */
export class VideoStore {
  constructor(private readonly db: Queryable) {}

  /** Newest first; `after` continues from a previous page. Returns one row more than `limit` if there is more. */
  async list(limit: number, after?: Cursor): Promise<Video[]> {
    const { rows } = after
      ? await this.db.query<Video>(
          `SELECT ${COLUMNS} FROM videos WHERE (created, seq) < ($1, $2) ORDER BY created DESC, seq DESC LIMIT $3`,
          [after.created, after.seq, limit + 1],
        )
      : await this.db.query<Video>(`SELECT ${COLUMNS} FROM videos ORDER BY created DESC, seq DESC LIMIT $1`, [
          limit + 1,
        ]);
    return rows;
  }

  async get(id: string): Promise<Video | undefined> {
    const { rows } = await this.db.query<Video>(`SELECT ${COLUMNS} FROM videos WHERE id = $1`, [id]);
    return rows[0];
  }

  async create(video: NewVideo): Promise<Video> {
    const { rows } = await this.db.query<Video>(
      `INSERT INTO videos (id, title, description, owner) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
      [video.id, video.title, video.description, video.owner],
    );
    return rows[0] as Video;
  }

  /** Adds a video unless one with its id exists (seeding is idempotent). */
  async ensure(video: NewVideo): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'INSERT INTO videos (id, title, description, owner) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
      [video.id, video.title, video.description, video.owner],
    );
    return rowCount > 0;
  }

  async update(id: string, changes: { title?: string; description?: string }): Promise<Video | undefined> {
    // COALESCE keeps a field the request did not name; both values are parameters.
    const { rows } = await this.db.query<Video>(
      `UPDATE videos SET title = COALESCE($2, title), description = COALESCE($3, description)
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.title ?? null, changes.description ?? null],
    );
    return rows[0];
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM videos WHERE id = $1', [id]);
    return rowCount > 0;
  }
}
