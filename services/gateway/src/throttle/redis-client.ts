import { createClient } from 'redis';

/**
 * A node-redis client for shared rate-limit counters that never queues a command while
 * disconnected: a counter that cannot be reached fails at once, and the throttler falls back
 * to its in-memory insurance limits until the client has reconnected (it keeps trying).
 * Call `connect()`; listen for `error` (node-redis throws an unhandled one).
 */
export function createRedisClient(url: string) {
  return createClient({ url, disableOfflineQueue: true });
}

export type RedisClient = ReturnType<typeof createRedisClient>;
