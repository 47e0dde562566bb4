import type { KmsClient } from './client.js';
import { MAX_DATA_KEYS_PER_CALL, type EncryptionContext } from './schemas.js';

/** A data key as the pool hands it out: use `plaintext` once, keep `ciphertext`. */
export interface PooledDataKey {
  plaintext: Buffer;
  ciphertext: string;
  keyVersion: number;
}

export interface DataKeyPoolOptions {
  /** The most keys held ready (default 256). */
  size?: number;
  /** Refill when fewer than this many are ready (default: half of `size`). */
  lowWater?: number;
  /**
   * A key waiting longer than this is dropped, not handed out (default 10 minutes): after
   * a rotation, new data is soon under the new version, and no plaintext key lingers.
   */
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * Data keys generated ahead of need, for one key and one encryption context, so that
 * encrypting an object does not wait for a KMS round trip: the pool asks the KMS for a
 * batch (`generate-data-keys`, up to 256 a call) in the background whenever it runs low.
 * Each key is handed out once and forgotten by the pool — a data key is never reused,
 * unlike a cache of data keys for encryption, which trades that away for speed.
 *
 * @example
 * const pool = new DataKeyPool(ctx.kms, 'storage', { bucket: 'videos' });
 * const { plaintext, ciphertext } = await pool.take();
 * // … encrypt one object with plaintext, then plaintext.fill(0); store ciphertext beside it …
 * pool.close();
 */
export class DataKeyPool {
  readonly #ready: Array<PooledDataKey & { made: number }> = [];
  readonly #size: number;
  readonly #lowWater: number;
  readonly #maxAge: number;
  readonly #now: () => number;
  #filling: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly kms: Pick<KmsClient, 'generateDataKeys'>,
    private readonly key: string,
    private readonly context?: EncryptionContext,
    opts: DataKeyPoolOptions = {},
  ) {
    this.#size = Math.max(1, opts.size ?? MAX_DATA_KEYS_PER_CALL);
    this.#lowWater = Math.min(this.#size, Math.max(0, opts.lowWater ?? Math.floor(this.#size / 2)));
    this.#maxAge = opts.maxAgeMs ?? 600_000;
    this.#now = opts.now ?? Date.now;
  }

  /** How many keys are ready now. */
  get ready(): number {
    return this.#ready.length;
  }

  /** A fresh data key: from the pool when one is ready, else after the refill it waits for. A KMS refusal is thrown here. */
  async take(): Promise<PooledDataKey> {
    for (;;) {
      if (this.#closed) throw new Error('the data-key pool is closed');
      this.#dropStale();
      const next = this.#ready.shift();
      if (next) {
        if (this.#ready.length < this.#lowWater) this.#refill().catch(() => undefined);
        return { plaintext: next.plaintext, ciphertext: next.ciphertext, keyVersion: next.keyVersion };
      }
      await this.#refill();
    }
  }

  /** Fills the pool now (at start, so that the first objects do not wait). */
  warm(): Promise<void> {
    return this.#refill();
  }

  /** Forgets (and zeroes) the keys not handed out. */
  close(): void {
    this.#closed = true;
    for (const k of this.#ready.splice(0)) k.plaintext.fill(0);
  }

  /** Keys are queued oldest first: drop from the front while they are too old. */
  #dropStale(): void {
    const oldest = this.#now() - this.#maxAge;
    while (this.#ready[0] && this.#ready[0].made < oldest) this.#ready.shift()?.plaintext.fill(0);
  }

  /** One refill at a time; callers that need keys wait for it, and see its error. */
  #refill(): Promise<void> {
    this.#filling ??= this.#fetch().finally(() => {
      this.#filling = undefined;
    });
    return this.#filling;
  }

  async #fetch(): Promise<void> {
    const count = Math.min(MAX_DATA_KEYS_PER_CALL, this.#size - this.#ready.length);
    if (count <= 0) return;
    const keys = await this.kms.generateDataKeys(this.key, count, this.context);
    if (this.#closed) {
      for (const k of keys) k.plaintext.fill(0);
      return;
    }
    const made = this.#now();
    this.#ready.push(...keys.map((k) => ({ ...k, made })));
  }
}
