import type { AuthRedis } from './redis.js';
import {
  type IRateLimiterOptions,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export interface ThrottleSettings {
  loginMaxFailures: number;
  lockoutSeconds: number;
  ipMaxFailures: number;
  tokenPerClient: number;
  tokenPerIp: number;
}

const MAX_LOCKOUT_SECONDS = 86_400;

function limiter(redis: AuthRedis | undefined, opts: IRateLimiterOptions): RateLimiterAbstract {
  // node-redis (`useRedisPackage`); with Redis down a check fails at once instead of queueing.
  return redis
    ? new RateLimiterRedis({
        storeClient: redis,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        ...opts,
      })
    : new RateLimiterMemory(opts);
}

async function blockedFor(l: RateLimiterAbstract, key: string): Promise<number | undefined> {
  const res = await l.get(key);
  return res && res.consumedPoints > l.points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : undefined;
}

async function consume(l: RateLimiterAbstract, key: string): Promise<RateLimiterRes> {
  try {
    return await l.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  }
}

/**
 * Login throttling (OWASP authentication cheat sheet): consecutive failures per
 * account + IP lock that pair out for a time that doubles with every lockout; failures
 * per account from all IPs and per IP over all accounts are capped too. Unknown
 * usernames are throttled exactly like known ones (no enumeration).
 */
export class LoginThrottle {
  private readonly byUserIp: RateLimiterAbstract;
  private readonly byUser: RateLimiterAbstract;
  private readonly byIp: RateLimiterAbstract;
  private readonly lockouts: RateLimiterAbstract;

  constructor(
    private readonly s: ThrottleSettings,
    redis?: AuthRedis,
  ) {
    this.byUserIp = limiter(redis, { keyPrefix: 'login_user_ip', points: s.loginMaxFailures, duration: 900 });
    this.byUser = limiter(redis, { keyPrefix: 'login_user', points: s.loginMaxFailures * 4, duration: 3600 });
    this.byIp = limiter(redis, { keyPrefix: 'login_ip', points: s.ipMaxFailures, duration: 3600 });
    this.lockouts = limiter(redis, { keyPrefix: 'login_lockouts', points: 1_000_000, duration: 86_400 });
  }

  /** Seconds to wait when this attempt must be refused before checking the password. */
  async check(username: string, ip: string): Promise<number | undefined> {
    const waits = await Promise.all([
      blockedFor(this.byUserIp, `${username.toLowerCase()}|${ip}`),
      blockedFor(this.byUser, username.toLowerCase()),
      blockedFor(this.byIp, ip),
    ]);
    const wait = Math.max(...waits.map((w) => w ?? 0));
    return wait > 0 ? wait : undefined;
  }

  /** Counts a failure; returns the lockout length when this failure triggered one. */
  async fail(username: string, ip: string): Promise<number | undefined> {
    const user = username.toLowerCase();
    const key = `${user}|${ip}`;
    const [pair] = await Promise.all([
      consume(this.byUserIp, key),
      consume(this.byUser, user),
      consume(this.byIp, ip),
    ]);
    if (pair.consumedPoints < this.s.loginMaxFailures) return undefined;
    const n = (await consume(this.lockouts, user)).consumedPoints;
    const seconds = Math.min(MAX_LOCKOUT_SECONDS, this.s.lockoutSeconds * 2 ** Math.min(n - 1, 16));
    await this.byUserIp.block(key, seconds);
    return seconds;
  }

  async success(username: string, ip: string): Promise<void> {
    await this.byUserIp.delete(`${username.toLowerCase()}|${ip}`);
  }
}

/** Token endpoint throttling per client and per IP (requests per minute). */
export class TokenThrottle {
  private readonly byClient: RateLimiterAbstract;
  private readonly byIp: RateLimiterAbstract;

  constructor(s: ThrottleSettings, redis?: AuthRedis) {
    this.byClient = limiter(redis, { keyPrefix: 'token_client', points: s.tokenPerClient, duration: 60 });
    this.byIp = limiter(redis, { keyPrefix: 'token_ip', points: s.tokenPerIp, duration: 60 });
  }

  /** Seconds to wait when the request must be refused. */
  async take(clientId: string | undefined, ip: string): Promise<number | undefined> {
    const results = await Promise.all([
      consume(this.byIp, ip),
      clientId ? consume(this.byClient, clientId) : undefined,
    ]);
    const limited = results.filter(
      (r, i): r is RateLimiterRes => !!r && r.consumedPoints > (i === 0 ? this.byIp : this.byClient).points,
    );
    if (!limited.length) return undefined;
    return Math.max(1, ...limited.map((r) => Math.ceil(r.msBeforeNext / 1000)));
  }
}
