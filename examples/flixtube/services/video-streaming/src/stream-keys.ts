import { randomBytes } from 'node:crypto';
import type { Queryable } from '@flotilla/kit';

/**
 * The HMAC key stream tokens are signed with, shared by every instance through the
 * service's own database: the first instance to start makes it (ON CONFLICT DO NOTHING:
 * two starting at once agree on the one that won), every instance reads it. It is never
 * in git or in the environment; only this service's database credentials reach it.
 */
export async function streamKey(db: Queryable): Promise<Uint8Array> {
  await db.query('INSERT INTO stream_keys (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [
    randomBytes(32),
  ]);
  const { rows } = await db.query<{ secret: Uint8Array }>('SELECT secret FROM stream_keys WHERE id = 1');
  return new Uint8Array(rows[0]!.secret);
}
