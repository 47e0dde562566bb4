import type { GatewayContext } from '../config.js';
import type { ThrottleConfig } from '../routes/route-schema.js';
import { createRedisClient, type RedisClient } from '../throttle/redis-client.js';
import { type SharedLimiters, Throttler } from '../throttle/throttler.js';

/** How often ended in-memory windows are dropped (they are also dropped as new ones open). */
const SWEEP_MS = 60_000;

/**
 * The throttler: counters in Redis when REDIS_URL is set (shared by every gateway replica),
 * else leased from the primary process when this is one of several workers, else in memory.
 */
export async function buildThrottler(
  ctx: GatewayContext,
  config: ThrottleConfig | undefined,
  shared: SharedLimiters | undefined,
): Promise<Throttler> {
  const redis = ctx.config.REDIS_URL ? await connectRedis(ctx, ctx.config.REDIS_URL) : undefined;
  const throttler = new Throttler(config, redis, redis ? undefined : shared);
  const sweep = setInterval(() => throttler.sweep(), SWEEP_MS);
  sweep.unref();
  ctx.onClose(() => clearInterval(sweep));
  return throttler;
}

/** The counters' Redis client, connecting in the background, closed with the service. */
async function connectRedis(ctx: GatewayContext, url: string): Promise<RedisClient> {
  const client = await createRedisClient(url);
  client.on('error', (err: Error) =>
    ctx.log.warn({ err: { message: err.message } }, 'redis error (throttling falls back to memory)'),
  );
  // Not awaited: the gateway starts (and throttles in memory) while Redis is unreachable.
  client.connect().catch(() => undefined);
  ctx.onClose(async () => {
    // QUIT when connected; a client still (re)connecting is stopped where it is.
    if (client.isReady) await client.close().catch(() => undefined);
    else if (client.isOpen) client.destroy();
  });
  return client;
}
