import { FlotillaError } from '@flotilla/kit';
import { DataKeyCache, DataKeyPool, type KmsClient } from '@flotilla/kit/contracts';
import type { DataKeys, KeyContext } from './data-keys.js';

/** How many data keys a bucket's pool asks the KMS for at a time (one usage record each call). */
const POOL_SIZE = 32;
/**
 * How long a pooled or decrypted data key is kept: a key disabled (or a grant withdrawn)
 * at the KMS stops new writes and reads of objects not recently read within this time.
 */
const KEEP_MS = 60_000;

/**
 * Data keys from the fleet's KMS: `kms:GenerateDataKey` and `kms:Decrypt` on the bucket's
 * key (`buckets[].key`, so that one bucket's data can be disabled or rotated apart from the
 * others), else the service's default key. A sealed key names its KMS key, so opening one
 * needs no lookup.
 * The context is the bucket's, so a pool per bucket makes keys ahead of need (each used
 * for one object only) and a put does not wait for a KMS round trip; decrypted keys are
 * cached, so reading an object's ranges asks the KMS once. Both keep keys for at most
 * `KEEP_MS`. A refusal by the KMS is storage's problem, not the caller's: it reaches the
 * caller as FLT_UPSTREAM_FAILED (502), and the KMS's own error goes to the log.
 */
export class KmsDataKeys implements DataKeys {
  readonly describe: string;
  readonly #pools = new Map<string, DataKeyPool>();
  readonly #opened: DataKeyCache;

  constructor(
    private readonly kms: Pick<KmsClient, 'generateDataKeys' | 'decrypt'>,
    private readonly keyName: string,
    /** Bucket name → KMS key, for buckets with their own key. */
    private readonly bucketKeys: ReadonlyMap<string, string> = new Map(),
  ) {
    const own = [...bucketKeys].map(([bucket, key]) => `, ${bucket}: kms:${key}`).join('');
    this.describe = `kms:${keyName}${own}`;
    this.#opened = new DataKeyCache(kms, { ttlMs: KEEP_MS, maxEntries: 1000 });
  }

  async newKey(context: KeyContext): Promise<{ plaintext: Buffer; sealed: string }> {
    const key = await this.#pool(context).take().catch(kmsFailure('a new data key'));
    return { plaintext: key.plaintext, sealed: key.ciphertext };
  }

  openKey(sealed: string, context: KeyContext): Promise<Buffer> {
    return this.#opened.decrypt(sealed, context).catch(kmsFailure("the object's data key"));
  }

  /** Forgets (and zeroes) every key held. */
  close(): void {
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
    this.#opened.clear();
  }

  #pool(context: KeyContext): DataKeyPool {
    const keyName = (context.bucket && this.bucketKeys.get(context.bucket)) ?? this.keyName;
    const id = JSON.stringify([keyName, Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))]);
    let pool = this.#pools.get(id);
    if (!pool) {
      pool = new DataKeyPool(this.kms, keyName, context, { size: POOL_SIZE, maxAgeMs: KEEP_MS });
      this.#pools.set(id, pool);
    }
    return pool;
  }
}

/** The KMS's refusal or failure, as storage's callers see it: storage could not do its part. */
function kmsFailure(what: string) {
  return (cause: unknown): never => {
    const code = cause instanceof FlotillaError ? ` (${cause.code})` : '';
    throw new FlotillaError('FLT_UPSTREAM_FAILED', `storage could not obtain ${what} from the KMS${code}`, {
      cause,
    });
  };
}
