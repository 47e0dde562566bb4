import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Principal } from '../auth/principal.js';
import { AUTH_ENDPOINT_POLICY } from '../routes/load-routes.js';
import type { LimitConfig, ThrottleConfig } from '../routes/route-schema.js';
import type { CompiledRoute } from '../routes/route-table.js';
import { fromRateLimiter, type Limiter, type Spent } from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';
import type { RedisClient } from './redis-client.js';
import type { LimitState } from './ratelimit-headers.js';

/** Makes the limiter for one policy when the counters live elsewhere (the gateway's workers share them). */
export type SharedLimiters = (id: string, limit: LimitConfig) => Limiter;

/** Login and token endpoints: 10 attempts a minute per source IP unless configured. */
export const DEFAULT_AUTH_ENDPOINT_LIMIT: LimitConfig = { points: 10, duration: 60, key: 'ip' };

export interface ThrottleOutcome {
  allowed: boolean;
  /** Every policy consulted, for the `RateLimit` fields. */
  states: readonly LimitState[];
  /** The policy that refused, when one did. */
  refusedBy?: string;
  retryAfterSec?: number;
}

interface Check {
  name: string;
  limit: LimitConfig;
  key: string;
}

const NO_LIMIT: ThrottleOutcome = Object.freeze({ allowed: true, states: Object.freeze([]) });

/**
 * Quotas: fixed windows in memory by default (`MemoryLimiter`, answered synchronously),
 * in Redis with rate-limiter-flexible when given a client so that every replica shares
 * the counters (with an in-memory insurance limiter if Redis fails, so an outage degrades
 * to per-replica limits rather than none or all), or leased from the primary process when
 * the gateway runs several workers without Redis.
 */
export class Throttler {
  readonly #config: ThrottleConfig;
  readonly #redis: RedisClient | undefined;
  readonly #shared: SharedLimiters | undefined;
  readonly #limiters = new Map<string, Limiter>();
  // The same limiter by configuration object, so a request builds no id string.
  readonly #byConfig = new WeakMap<LimitConfig, Map<string, Limiter>>();

  constructor(config: ThrottleConfig | undefined, redis?: RedisClient, shared?: SharedLimiters) {
    this.#config = config ?? {};
    this.#redis = redis;
    this.#shared = shared;
  }

  /**
   * Limits checked before authentication: `ip`-keyed route policies (login and token
   * endpoints). Answered synchronously unless a counter is elsewhere (Redis, the primary).
   */
  beforeAuth(route: CompiledRoute, ip: string): ThrottleOutcome | Promise<ThrottleOutcome> {
    const policy = this.#routePolicy(route);
    if (!policy || (policy.limit.key ?? 'caller') !== 'ip') return NO_LIMIT;
    return this.#consume([{ name: policy.name, limit: policy.limit, key: `${route.id}|${ip}` }]);
  }

  /**
   * Limits checked after authorization: application quota, user fair usage or tier,
   * per-operation policy. Answered synchronously unless a counter is elsewhere.
   */
  afterAuth(
    route: CompiledRoute,
    principal: Principal | undefined,
    ip: string,
  ): ThrottleOutcome | Promise<ThrottleOutcome> {
    const checks: Check[] = [];
    if (principal) {
      const tier = this.#tier(principal);
      if (tier) checks.push({ name: `tier-${tier.role}`, limit: tier.limit, key: principal.id });
      else if (this.#config.user && principal.type === 'User') {
        checks.push({ name: 'user', limit: this.#config.user, key: principal.sub });
      }
      if (this.#config.client)
        checks.push({ name: 'client', limit: this.#config.client, key: principal.clientId });
    }
    const policy = this.#routePolicy(route);
    const key = policy?.limit.key ?? 'caller';
    if (policy && key !== 'ip') {
      const who = key === 'route' ? '' : `|${principal ? `${principal.type}:${principal.id}` : `ip:${ip}`}`;
      checks.push({ name: policy.name, limit: policy.limit, key: `${route.id}${who}` });
    }
    return checks.length === 0 ? NO_LIMIT : this.#consume(checks);
  }

  /** Drops ended windows of the in-memory counters (they are also dropped as new ones open). */
  sweep(): void {
    for (const limiter of this.#limiters.values()) if (limiter instanceof MemoryLimiter) limiter.sweep();
  }

  #routePolicy(route: CompiledRoute): { name: string; limit: LimitConfig } | undefined {
    const name = route.config.throttle;
    if (!name) return undefined;
    const limit =
      this.#config.policies?.[name] ??
      (name === AUTH_ENDPOINT_POLICY ? DEFAULT_AUTH_ENDPOINT_LIMIT : undefined);
    return limit ? { name, limit } : undefined;
  }

  #tier(principal: Principal): { role: string; limit: LimitConfig } | undefined {
    let best: { role: string; limit: LimitConfig } | undefined;
    for (const role of principal.roles) {
      const limit = this.#config.tiers?.[role];
      if (limit && (!best || limit.points / limit.duration > best.limit.points / best.limit.duration)) {
        best = { role, limit };
      }
    }
    return best;
  }

  /** One at a time: a refusal stops before the next quota is spent. */
  #consume(checks: readonly Check[]): ThrottleOutcome | Promise<ThrottleOutcome> {
    const states: LimitState[] = [];
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const spent = this.#limiter(check.name, check.limit).take(check.key);
      if (spent instanceof Promise) return this.#consumeAsync(checks, i, spent, states);
      const refused = record(check, spent, states);
      if (refused) return refused;
    }
    return { allowed: true, states };
  }

  async #consumeAsync(
    checks: readonly Check[],
    from: number,
    pending: Promise<Spent>,
    states: LimitState[],
  ): Promise<ThrottleOutcome> {
    for (let i = from; i < checks.length; i++) {
      const check = checks[i]!;
      const spent = i === from ? await pending : await this.#limiter(check.name, check.limit).take(check.key);
      const refused = record(check, spent, states);
      if (refused) return refused;
    }
    return { allowed: true, states };
  }

  #limiter(name: string, limit: LimitConfig): Limiter {
    let byName = this.#byConfig.get(limit);
    if (!byName) this.#byConfig.set(limit, (byName = new Map<string, Limiter>()));
    const known = byName.get(name);
    if (known) return known;
    const id = `${name}:${limit.points}:${limit.duration}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      const opts = { points: limit.points, duration: limit.duration, keyPrefix: `flotilla:gw:rl:${name}` };
      limiter = this.#redis
        ? fromRateLimiter(
            new RateLimiterRedis({
              ...opts,
              storeClient: this.#redis,
              // node-redis's command API (EVAL with keys and arguments, pTTL), not ioredis's.
              useRedisPackage: true,
              insuranceLimiter: new RateLimiterMemory(opts),
            }),
          )
        : this.#shared
          ? this.#shared(id, limit)
          : new MemoryLimiter(limit);
      this.#limiters.set(id, limiter);
    }
    byName.set(name, limiter);
    return limiter;
  }
}

/** Adds the policy's state; the refusal when the point was refused. */
function record(check: Check, spent: Spent, states: LimitState[]): ThrottleOutcome | undefined {
  const resetSec = Math.ceil(spent.msBeforeNext / 1000);
  states.push({ name: check.name, limit: check.limit, remaining: spent.remaining, resetSec });
  if (spent.allowed) return undefined;
  return { allowed: false, states, refusedBy: check.name, retryAfterSec: Math.max(1, resetSec) };
}
