import type { KmsClient } from './client.js';
import type { EncryptionContext } from './schemas.js';

export interface DataKeyCacheOptions {
  /** The most plaintext data keys held (default 1,000); the least recently used goes first. */
  maxEntries?: number;
  /** How long a decrypted data key is kept (default 5 minutes). */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Decrypted data keys, cached by ciphertext and encryption context (the AWS Encryption
 * SDK's caching CMM, for decryption): reading the same object again does not ask the KMS
 * again. The price, as there: a key disabled or a grant withdrawn at the KMS takes effect
 * here only when the entry expires (`ttlMs`). Callers get copies; `clear()` zeroes the rest.
 *
 * @example
 * const keys = new DataKeyCache(ctx.kms, { ttlMs: 60_000 });
 * const plaintext = await keys.decrypt(object.sealedKey, { bucket: 'videos' });
 */
export class DataKeyCache {
  readonly #entries = new Map<string, { key: Buffer; expires: number }>();
  readonly #pending = new Map<string, Promise<Buffer>>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(
    private readonly kms: Pick<KmsClient, 'decrypt'>,
    opts: DataKeyCacheOptions = {},
  ) {
    this.#max = Math.max(1, opts.maxEntries ?? 1000);
    this.#ttl = opts.ttlMs ?? 300_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The data key's plaintext (a copy): from the cache, or from the KMS once for concurrent callers. */
  async decrypt(ciphertext: string, context?: EncryptionContext): Promise<Buffer> {
    const id = `${ciphertext}\n${canonical(context)}`;
    const hit = this.#entries.get(id);
    if (hit && hit.expires > this.#now()) {
      this.#entries.delete(id); // re-inserted: most recently used last
      this.#entries.set(id, hit);
      return Buffer.from(hit.key);
    }
    if (hit) this.#drop(id);
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.kms.decrypt(ciphertext, context).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
      const key = await pending;
      this.#store(id, key);
      return Buffer.from(key);
    }
    return Buffer.from(await pending);
  }

  clear(): void {
    for (const id of [...this.#entries.keys()]) this.#drop(id);
  }

  #store(id: string, key: Buffer): void {
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#drop(oldest);
    }
    this.#entries.set(id, { key: Buffer.from(key), expires: this.#now() + this.#ttl });
  }

  #drop(id: string): void {
    this.#entries.get(id)?.key.fill(0);
    this.#entries.delete(id);
  }
}

/** The context with its keys sorted: `{a, b}` and `{b, a}` are one context (as the KMS binds it). */
function canonical(context: EncryptionContext = {}): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(context)
        .sort()
        .map((k) => [k, context[k]]),
    ),
  );
}
