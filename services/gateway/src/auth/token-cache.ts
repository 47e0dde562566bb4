import { hash } from 'node:crypto';
import { LruCache } from '@flotilla/policy';

/**
 * SHA-256 of a token: the cache key, so tokens themselves are never held as keys or logged.
 * The one-shot `crypto.hash` is about twice as fast as a `Hash` object for a token-sized input.
 */
export function tokenHash(token: string): string {
  return hash('sha256', token, 'base64url');
}

/**
 * A bounded, approximately least-recently-used cache of validation results (the policy
 * package's `LruCache`), each valid until its own deadline: a token's `exp`, or a shorter
 * introspection TTL. An expired entry is dropped when it is next asked for.
 */
export class TokenCache<V> {
  /** Undefined when the cache is off (size 0). */
  readonly #lru: LruCache<{ value: V; until: number }> | undefined;
  readonly #now: () => number;

  constructor(max: number, now: () => number = Date.now) {
    this.#lru = max > 0 ? new LruCache(max) : undefined;
    this.#now = now;
  }

  get size(): number {
    return this.#lru?.size ?? 0;
  }

  get(key: string): V | undefined {
    const entry = this.#lru?.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.#now()) {
      this.#lru!.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** `until` is a time in ms since the epoch; entries already expired are not stored. */
  set(key: string, value: V, until: number): void {
    if (!this.#lru || until <= this.#now()) return;
    this.#lru.set(key, { value, until });
  }

  clear(): void {
    this.#lru?.clear();
  }
}
