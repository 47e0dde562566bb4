import type { RedisClientType } from 'redis';

/**
 * A node-redis client for shared rate-limit counters that never queues a command while
 * disconnected: a counter that cannot be reached fails at once, and the throttler falls back
 * to its in-memory insurance limits until the client has reconnected (it keeps trying).
 * Call `connect()`; listen for `error` (node-redis throws an unhandled one).
 */
export async function createRedisClient(url: string): Promise<RedisClient> {
  // Loaded only with REDIS_URL: a gateway counting in memory never pays for the client.
  const redis = await import('redis');
  return redis.createClient({ url, disableOfflineQueue: true });
}

export type RedisClient = RedisClientType;
