import { randomBytes } from 'node:crypto';
import type { Queryable } from '@flotilla/kit';
import type { KmsClient } from '@flotilla/kit/contracts';

/** Binds the sealed key to its use: a ciphertext copied into another context will not open. */
const CONTEXT = { service: 'video-streaming', purpose: 'stream-token-hmac' };

/**
 * The HMAC key stream tokens are signed with, shared by every instance through the
 * service's own database, sealed there by the fleet's KMS (`keyName`): a copy of the
 * database alone does not let anyone mint stream tokens. The first instance to start
 * makes it (ON CONFLICT DO NOTHING: two starting at once agree on the one that won),
 * every instance opens it. It is never in git, the environment or a log.
 */
export async function streamKey(
  db: Queryable,
  kms: Pick<KmsClient, 'encrypt' | 'decrypt'>,
  keyName: string,
): Promise<Uint8Array> {
  let sealed = await readSealed(db);
  if (!sealed) {
    const made = await kms.encrypt(keyName, randomBytes(32), CONTEXT);
    await db.query('INSERT INTO stream_keys (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [made]);
    sealed = (await readSealed(db))!;
  }
  return new Uint8Array(await kms.decrypt(sealed, CONTEXT));
}

async function readSealed(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ sealed: string }>('SELECT sealed FROM stream_keys WHERE id = 1');
  return rows[0]?.sealed;
}
