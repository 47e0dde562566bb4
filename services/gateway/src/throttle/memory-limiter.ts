import type { Limiter, Spent } from './limiter.js';

interface Window {
  /** Points spent in this window, refusals included (as `RateLimiterMemory` counts them). */
  used: number;
  /** End of the window, in the limiter's clock (ms). */
  resetAt: number;
}

/** Most ended windows dropped by one request that opens a window (the rest go with the next ones). */
const EVICT_PER_INSERT = 8;

/**
 * Fixed-window counters in this process, answered synchronously: the same windows as
 * rate-limiter-flexible's `RateLimiterMemory` (a key's window opens with its first
 * request and lasts `duration` seconds; a request over `points` is refused until it
 * ends) without a promise, a result object from the library, or a timer per key.
 *
 * Memory stays bounded by the keys seen in about the last two windows: a window is
 * (re)inserted when it opens, so the map's insertion order is the order in which windows
 * end (one duration per limiter, a monotonic clock), and each request that opens a window
 * first drops up to `EVICT_PER_INSERT` ended windows from the front. `sweep()` drops them all.
 */
export class MemoryLimiter implements Limiter {
  readonly #points: number;
  readonly #durationMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  /**
   * `now` is a monotonic clock in ms (default `performance.now`): setting the wall clock
   * back or forward neither extends nor ends a window.
   */
  constructor(limit: { points: number; duration: number }, now: () => number = () => performance.now()) {
    if (!Number.isInteger(limit.points) || limit.points < 1)
      throw new RangeError('points must be a positive integer');
    if (!(limit.duration > 0)) throw new RangeError('duration must be positive');
    this.#points = limit.points;
    this.#durationMs = limit.duration * 1000;
    this.#now = now;
  }

  /** Keys with a window held (ended ones not yet dropped included). */
  get size(): number {
    return this.#windows.size;
  }

  take(key: string): Spent {
    const now = this.#now();
    let w = this.#windows.get(key);
    if (w !== undefined && w.resetAt > now) {
      w.used += 1;
      const msBeforeNext = w.resetAt - now;
      return w.used <= this.#points
        ? { allowed: true, remaining: this.#points - w.used, msBeforeNext }
        : { allowed: false, remaining: 0, msBeforeNext };
    }
    // A new window: moved to the end of the map, which stays ordered by window end.
    if (w === undefined) w = { used: 1, resetAt: now + this.#durationMs };
    else {
      this.#windows.delete(key);
      w.used = 1;
      w.resetAt = now + this.#durationMs;
    }
    this.#evict(now, EVICT_PER_INSERT);
    this.#windows.set(key, w);
    return { allowed: true, remaining: this.#points - 1, msBeforeNext: this.#durationMs };
  }

  /** Drops every ended window. */
  sweep(): void {
    this.#evict(this.#now(), Infinity);
  }

  #evict(now: number, max: number): void {
    let n = 0;
    for (const [key, w] of this.#windows) {
      if (w.resetAt > now || n >= max) return;
      this.#windows.delete(key);
      n++;
    }
  }
}
