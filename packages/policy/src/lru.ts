/**
 * A bounded, approximately least-recently-used map. A `Map` keeps insertion order, so
 * the first key is the oldest insertion. A hit re-inserts the key (making it young) only
 * once it has drifted into the older half, so a hot key costs one lookup, not a delete
 * and an insert on every hit, and is still never the one evicted.
 */
export class LruCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; tick: number }>();
  #tick = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`LRU size must be a positive integer, got ${max}`);
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (this.#tick - entry.tick >= this.#max >> 1) {
      this.#map.delete(key);
      entry.tick = ++this.#tick;
      this.#map.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, { value, tick: ++this.#tick });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
