import { hash } from 'node:crypto';

/**
 * SHA-256 of a token: the cache key, so tokens themselves are never held as keys or logged.
 * The one-shot `crypto.hash` is about twice as fast as a `Hash` object for a token-sized input.
 */
export function tokenHash(token: string): string {
  return hash('sha256', token, 'base64url');
}

/**
 * A bounded, approximately least-recently-used cache of validation results, each valid
 * until its own deadline (a token's `exp`, or a shorter introspection TTL). Map iteration
 * order is insertion order, so the first key is the oldest. A hit moves its entry to the
 * young end only once it has drifted into the older half: a hot token costs one lookup per
 * request, not a delete and an insert, and is still never the one evicted.
 */
export class TokenCache<V> {
  readonly #entries = new Map<string, { value: V; until: number; tick: number }>();
  readonly #max: number;
  readonly #now: () => number;
  #tick = 0;

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
    if (entry.until <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    if (this.#tick - entry.tick >= this.#max >> 1) {
      this.#entries.delete(key);
      entry.tick = ++this.#tick;
      this.#entries.set(key, entry);
    }
    return entry.value;
  }

  /** `until` is a time in ms since the epoch; entries already expired are not stored. */
  set(key: string, value: V, until: number): void {
    if (this.#max <= 0 || until <= this.#now()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, until, tick: ++this.#tick });
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
