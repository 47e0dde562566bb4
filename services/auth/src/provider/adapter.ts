import type { Queryable } from '@flotilla/kit';
import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';

interface Row {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

/**
 * An oidc-provider adapter on the service's database: one table keyed by model
 * name + id, with the lookups oidc-provider needs (grantId, userCode, uid).
 * Expired rows are invisible at once and deleted by {@link sweepExpired}.
 */
export function dbAdapter(db: Queryable): AdapterConstructor {
  return class DbAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      await db.query(
        `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
           user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
        [
          this.model,
          id,
          JSON.stringify(payload),
          payload.grantId ?? null,
          payload.userCode ?? null,
          payload.uid ?? null,
          expiresAt,
        ],
      );
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      return this.findBy('id', id);
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findBy('user_code', userCode);
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findBy('uid', uid);
    }

    async consume(id: string): Promise<void> {
      await db.query('UPDATE oidc_models SET consumed_at = now() WHERE model = $1 AND id = $2', [
        this.model,
        id,
      ]);
    }

    async destroy(id: string): Promise<void> {
      await db.query('DELETE FROM oidc_models WHERE model = $1 AND id = $2', [this.model, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.query('DELETE FROM oidc_models WHERE model = $1 AND grant_id = $2', [this.model, grantId]);
    }

    private async findBy(
      column: 'id' | 'user_code' | 'uid',
      value: string,
    ): Promise<AdapterPayload | undefined> {
      // The column name comes from the closed union above, never from input.
      const { rows } = await db.query<Row>(
        `SELECT payload, consumed_at FROM oidc_models
         WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > now())
         LIMIT 1`,
        [this.model, value],
      );
      const row = rows[0];
      if (!row) return undefined;
      return row.consumed_at
        ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) }
        : row.payload;
    }
  };
}

/** Deletes rows whose lifetime is over; returns how many. */
export async function sweepExpired(db: Queryable): Promise<number> {
  const models = await db.query(
    'DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at < now()',
  );
  const revocations = await db.query('DELETE FROM revocations WHERE expires_at < now()');
  const keys = await db.query(
    "DELETE FROM signing_keys WHERE state = 'retired' AND expires_at IS NOT NULL AND expires_at < now()",
  );
  return models.rowCount + revocations.rowCount + keys.rowCount;
}
