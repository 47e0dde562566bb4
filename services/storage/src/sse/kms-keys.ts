import { DataKeyCache, DataKeyPool, type KmsClient } from '@flotilla/kit/contracts';
import type { DataKeys, KeyContext } from './data-keys.js';

/** How many data keys a bucket's pool asks the KMS for at a time (one usage record each call). */
const POOL_SIZE = 32;

/**
 * Data keys from the fleet's KMS: `kms:GenerateDataKey` and `kms:Decrypt` on one named key.
 * The context is the bucket's, so a pool per bucket makes keys ahead of need (each used
 * for one object only) and a put does not wait for a KMS round trip; decrypted keys are
 * cached for a minute, so reading an object's ranges asks the KMS once, and a key disabled
 * at the KMS stops reads within that minute.
 */
export class KmsDataKeys implements DataKeys {
  readonly describe: string;
  readonly #pools = new Map<string, DataKeyPool>();
  readonly #opened: DataKeyCache;

  constructor(
    private readonly kms: Pick<KmsClient, 'generateDataKeys' | 'decrypt'>,
    private readonly keyName: string,
  ) {
    this.describe = `kms:${keyName}`;
    this.#opened = new DataKeyCache(kms, { ttlMs: 60_000, maxEntries: 1000 });
  }

  async newKey(context: KeyContext): Promise<{ plaintext: Buffer; sealed: string }> {
    const key = await this.#pool(context).take();
    return { plaintext: key.plaintext, sealed: key.ciphertext };
  }

  openKey(sealed: string, context: KeyContext): Promise<Buffer> {
    return this.#opened.decrypt(sealed, context);
  }

  /** Forgets (and zeroes) every key held. */
  close(): void {
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
    this.#opened.clear();
  }

  #pool(context: KeyContext): DataKeyPool {
    const id = JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1)));
    let pool = this.#pools.get(id);
    if (!pool) {
      pool = new DataKeyPool(this.kms, this.keyName, context, { size: POOL_SIZE });
      this.#pools.set(id, pool);
    }
    return pool;
  }
}
