import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RedisRevocationPublisher, RedisRevocationSubscriber } from './redis.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('Redis transport without Redis', () => {
  it('a subscriber whose Redis is unreachable at start rejects (node-redis would retry for ever)', async () => {
    const sub = new RedisRevocationSubscriber({ url: `redis://127.0.0.1:${await closedPort()}`, ttlSec: 60 });
    await expect(sub.start(() => undefined)).rejects.toThrow();
    expect(sub.connected).toBe(false);
    await sub.close();
  });

  it('a publish fails instead of hanging, and the next one tries again', async () => {
    const publisher = new RedisRevocationPublisher(`redis://127.0.0.1:${await closedPort()}`);
    const event = { type: 'token' as const, jti: 'j', at: 1 };
    await expect(publisher.publish(event)).rejects.toThrow();
    await expect(publisher.publish(event)).rejects.toThrow();
    await publisher.close();
  });
});
