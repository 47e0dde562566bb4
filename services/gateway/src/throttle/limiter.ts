import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';

/** One point spent, or refused, for one key: what the `RateLimit` fields and `Retry-After` need. */
export interface Spent {
  allowed: boolean;
  /** Points left in the window (0 when refused). */
  remaining: number;
  /** Time to the end of the window, ms. */
  msBeforeNext: number;
}

/**
 * A counter of one policy: in memory, in Redis, or leased from the gateway's primary process.
 * Counters in this process answer synchronously; a promise only when the answer is elsewhere.
 */
export interface Limiter {
  take(key: string): Spent | Promise<Spent>;
}

/** A rate-limiter-flexible limiter, whose refusals are rejections with a `RateLimiterRes`. */
export function fromRateLimiter(limiter: RateLimiterAbstract): Limiter {
  return {
    take: (key) =>
      limiter.consume(key, 1).then(
        (res) => ({ allowed: true, remaining: res.remainingPoints, msBeforeNext: res.msBeforeNext }),
        (err: unknown) => {
          if (!(err instanceof RateLimiterRes)) throw err;
          return { allowed: false, remaining: err.remainingPoints, msBeforeNext: err.msBeforeNext };
        },
      ),
  };
}
