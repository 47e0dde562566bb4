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

/**
 * `streamKey` when first needed, then from memory. The fleet starts its services and the
 * KMS together and nothing waits for the KMS at start: the key is opened at the first
 * token (or in the background right after start), and a failure (the KMS not up yet) is
 * not remembered, so the next request tries again.
 */
export function lazyStreamKey(
  db: Queryable,
  kms: Pick<KmsClient, 'encrypt' | 'decrypt'>,
  keyName: string,
): () => Promise<Uint8Array> {
  let opening: Promise<Uint8Array> | undefined;
  return () => {
    opening ??= streamKey(db, kms, keyName).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
}
