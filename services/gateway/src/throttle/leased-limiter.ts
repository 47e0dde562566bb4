import type { LeaseGrant, LeaseRequest } from './lease-authority.js';
import type { Limiter, Spent } from './limiter.js';

/** How a worker reaches the lease authority (the primary process). */
export interface LeaseChannel {
  lease(req: LeaseRequest): Promise<LeaseGrant>;
}

interface Lease {
  left: number;
  remaining: number;
  resetAt: number;
  pending?: Promise<void>;
}

/**
 * A worker's side of a limit shared by all the gateway's workers (see `LeaseAuthority`):
 * requests spend points of the worker's current lease without a message; a new lease is
 * asked for only when it runs out. Refusals and remaining counts follow the same
 * fixed window as `RateLimiterMemory`.
 */
export class LeasedLimiter implements Limiter {
  readonly id: string;
  readonly #points: number;
  readonly #duration: number;
  readonly #channel: LeaseChannel;
  readonly #now: () => number;
  readonly #leases = new Map<string, Lease>();

  constructor(
    id: string,
    limit: { points: number; duration: number },
    channel: LeaseChannel,
    now: () => number = Date.now,
  ) {
    this.id = id;
    this.#points = limit.points;
    this.#duration = limit.duration;
    this.#channel = channel;
    this.#now = now;
  }

  /** Synchronous while the worker's lease for the key has points; a promise when it asks for more. */
  take(key: string): Spent | Promise<Spent> {
    const now = this.#now();
    const lease = this.#leases.get(key);
    if (lease !== undefined && lease.pending === undefined && lease.resetAt > now && lease.left > 0) {
      lease.left -= 1;
      return { allowed: true, remaining: lease.left + lease.remaining, msBeforeNext: lease.resetAt - now };
    }
    return this.#take(key);
  }

  async #take(key: string): Promise<Spent> {
    // Each round spends, waits for a lease in flight, or asks for one; every answer either
    // grants points (someone spends them) or refuses, so this ends. The bound is a backstop.
    for (let round = 0; round < 1_000; round++) {
      const now = this.#now();
      const lease = this.#leases.get(key);
      if (lease?.pending) {
        await lease.pending;
        continue;
      }
      if (lease && lease.resetAt > now && lease.left > 0) {
        lease.left -= 1;
        return { allowed: true, remaining: lease.left + lease.remaining, msBeforeNext: lease.resetAt - now };
      }
      const grant = await this.#ask(key);
      if (grant.granted === 0) return refused(grant.resetAt, this.#now());
    }
    return refused(this.#now() + 1000, this.#now());
  }

  /** The authority takes back what this worker has not spent of its lease for `resetAt`'s window. */
  giveBack(key: string, resetAt: number): number {
    const lease = this.#leases.get(key);
    if (!lease || lease.resetAt !== resetAt) return 0;
    const returned = lease.left;
    lease.left = 0;
    return returned;
  }

  /** Drops leases of ended windows. */
  sweep(): void {
    const now = this.#now();
    for (const [key, lease] of this.#leases)
      if (lease.resetAt <= now && !lease.pending) this.#leases.delete(key);
  }

  async #ask(key: string): Promise<LeaseGrant> {
    const lease: Lease = this.#leases.get(key) ?? { left: 0, remaining: 0, resetAt: 0 };
    this.#leases.set(key, lease);
    let grant: LeaseGrant = { granted: 0, remaining: 0, resetAt: this.#now() + 1000 };
    lease.pending = this.#channel
      .lease({ limiter: this.id, points: this.#points, duration: this.#duration, key })
      .then(
        (g) => {
          grant = g;
          // Points left over from an ended window are void; from the same window they add up.
          lease.left = (lease.resetAt === g.resetAt ? lease.left : 0) + g.granted;
          lease.remaining = g.remaining;
          lease.resetAt = g.resetAt;
        },
        () => {
          // No answer from the authority: refuse rather than admit uncounted.
          grant = { granted: 0, remaining: 0, resetAt: this.#now() + 1000 };
        },
      )
      .finally(() => delete lease.pending);
    await lease.pending;
    return grant;
  }
}

function refused(resetAt: number, now: number): Spent {
  return { allowed: false, remaining: 0, msBeforeNext: Math.max(0, resetAt - now) };
}
