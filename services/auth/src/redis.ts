import type { ServiceContext } from '@flotilla/kit';
import type { RedisClientType } from 'redis';

/** A node-redis client as `createClient({ url })` makes it (no modules, RESP3). */
export type AuthRedis = RedisClientType<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  3
>;

/**
 * The Redis client shared by the login and token throttles, connected, or undefined
 * without `REDIS_URL`. The module is loaded only then (~2 MB a process otherwise). The
 * first connection must succeed (a bad `REDIS_URL` stops the start); after that
 * node-redis reconnects by itself, and its errors go to the log.
 */
export async function openRedis(
  url: string | undefined,
  ctx: Pick<ServiceContext, 'log' | 'onClose'>,
): Promise<AuthRedis | undefined> {
  if (!url) return undefined;
  const { createClient } = await import('redis');
  let connected = false;
  const client: AuthRedis = createClient({
    url,
    socket: {
      reconnectStrategy: (retries, cause) => (connected ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
  });
  client.on('error', (err: Error) => ctx.log.warn({ err: { message: err.message } }, 'redis error'));
  await client.connect();
  connected = true;
  ctx.onClose(async () => void (await client.close().catch(() => undefined)));
  return client;
}
