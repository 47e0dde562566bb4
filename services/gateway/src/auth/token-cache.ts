import { createHash } from 'node:crypto';

/** SHA-256 of a token: the cache key, so tokens themselves are never held as keys or logged. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * A bounded LRU of validation results, each valid until its own deadline (a token's
 * `exp`, or a shorter introspection TTL). Map iteration order is insertion order, so
 * re-inserting on a hit keeps the least recently used entry first.
 */
export class TokenCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(max: number, now: () => number = Date.now) {
    this.#max = max;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.until <= this.#now()) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** `until` is a time in ms since the epoch; entries already expired are not stored. */
  set(key: string, value: V, until: number): void {
    if (this.#max <= 0 || until <= this.#now()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, until });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
