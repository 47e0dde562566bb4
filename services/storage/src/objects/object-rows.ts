import type { Queryable } from '@flotilla/kit';

/** One stored version of an object (or a delete marker). */
export interface ObjectRow {
  bucket: string;
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string;
  contentType: string;
  headerLen: number;
  created: Date;
}

const COLUMNS = `bucket, key, version_id AS "versionId", is_latest AS "isLatest",
  delete_marker AS "deleteMarker", size::float8 AS size, etag, content_type AS "contentType",
  header_len AS "headerLen", created`;

/** The `objects` table; parameterised SQL only. */
export class ObjectRows {
  constructor(private readonly db: Queryable) {}

  async latest(bucket: string, key: string): Promise<ObjectRow | undefined> {
    const { rows } = await this.db.query<ObjectRow>(
      `SELECT ${COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 AND is_latest`,
      [bucket, key],
    );
    return rows[0];
  }

  /** The latest row, locked until the transaction ends (conditional writes decide on it). */
  async latestForUpdate(bucket: string, key: string): Promise<ObjectRow | undefined> {
    const { rows } = await this.db.query<ObjectRow>(
      `SELECT ${COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 AND is_latest FOR UPDATE`,
      [bucket, key],
    );
    return rows[0];
  }

  async version(bucket: string, key: string, versionId: string): Promise<ObjectRow | undefined> {
    const { rows } = await this.db.query<ObjectRow>(
      `SELECT ${COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3`,
      [bucket, key, versionId],
    );
    return rows[0];
  }

  async insert(row: Omit<ObjectRow, 'created' | 'isLatest'>): Promise<ObjectRow> {
    const { rows } = await this.db.query<ObjectRow>(
      `INSERT INTO objects (bucket, key, version_id, is_latest, delete_marker, size, etag, content_type, header_len)
       VALUES ($1, $2, $3, true, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [
        row.bucket,
        row.key,
        row.versionId,
        row.deleteMarker,
        row.size,
        row.etag,
        row.contentType,
        row.headerLen,
      ],
    );
    return rows[0] as ObjectRow;
  }

  async unsetLatest(bucket: string, key: string): Promise<void> {
    await this.db.query('UPDATE objects SET is_latest = false WHERE bucket = $1 AND key = $2 AND is_latest', [
      bucket,
      key,
    ]);
  }

  async remove(bucket: string, key: string, versionId: string): Promise<void> {
    await this.db.query('DELETE FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3', [
      bucket,
      key,
      versionId,
    ]);
  }

  /** After the latest version was removed: the newest remaining one becomes latest. */
  async promoteNewest(bucket: string, key: string): Promise<void> {
    await this.db.query(
      `UPDATE objects SET is_latest = true WHERE version_id = (
         SELECT version_id FROM objects WHERE bucket = $1 AND key = $2 ORDER BY seq DESC LIMIT 1)
       AND NOT EXISTS (SELECT 1 FROM objects WHERE bucket = $1 AND key = $2 AND is_latest)`,
      [bucket, key],
    );
  }

  /** Latest, visible objects with `prefix`, keys after `after`, skipping keys that start with `skip`. */
  async page(
    bucket: string,
    prefix: string,
    after: string,
    skip: string | null,
    limit: number,
  ): Promise<ObjectRow[]> {
    const { rows } = await this.db.query<ObjectRow>(
      `SELECT ${COLUMNS} FROM objects
       WHERE bucket = $1 AND is_latest AND NOT delete_marker AND starts_with(key, $2) AND key > $3
         AND ($4::text IS NULL OR NOT starts_with(key, $4::text))
       ORDER BY key LIMIT $5`,
      [bucket, prefix, after, skip, limit],
    );
    return rows;
  }

  /** Is this blob (version) id known? The orphan sweep asks for every blob in the backend. */
  async known(versionIds: readonly string[]): Promise<Set<string>> {
    if (versionIds.length === 0) return new Set();
    const { rows } = await this.db.query<{ v: string }>(
      'SELECT version_id AS v FROM objects WHERE version_id = ANY($1::text[])',
      [versionIds],
    );
    return new Set(rows.map((r) => r.v));
  }
}
