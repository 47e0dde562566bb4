import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LocalRevocationBus,
  RedisRevocationBus,
  type RevocationBus,
  type RevocationEvent,
  subscribeRevocations,
} from '../src/index.js';
import { startTestAuth } from './helpers.js';

function busContract(name: string, make: () => RevocationBus) {
  describe(`revocation events: ${name}`, () => {
    const bus = make();
    afterAll(async () => bus.close());

    it('delivers a published event to every subscriber within 1 s', async () => {
      const a: RevocationEvent[] = [];
      const b: RevocationEvent[] = [];
      const subA = await bus.subscribe((e) => a.push(e));
      const subB = await bus.subscribe((e) => b.push(e));
      const event: RevocationEvent = {
        type: 'grant',
        grantId: `g-${Date.now()}`,
        sub: 'u1',
        clientId: 'spa',
        at: Math.floor(Date.now() / 1000),
      };
      const started = Date.now();
      await bus.publish(event);
      await expect.poll(() => a.length + b.length, { timeout: 1000 }).toBe(2);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(a[0]).toEqual(event);
      expect(b[0]).toEqual(event);
      await subA.close();
      await bus.publish({ ...event, grantId: 'after-close' });
      await new Promise((r) => setTimeout(r, 100));
      expect(a).toHaveLength(1);
      await subB.close();
    });
  });
}

busContract('local', () => new LocalRevocationBus(60));

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  busContract('redis', () => new RedisRevocationBus(redisUrl));
  it('subscribeRevocations(redis://…) receives what the bus publishes', async () => {
    const bus = new RedisRevocationBus(redisUrl);
    const got: RevocationEvent[] = [];
    const sub = await subscribeRevocations(redisUrl, (e) => got.push(e));
    await bus.publish({ type: 'token', jti: 'j1', at: 1 });
    await expect.poll(() => got.length, { timeout: 1000 }).toBe(1);
    await sub.close();
    await bus.close();
  });
  it('the auth service with REDIS_URL publishes its revocations on Redis', async () => {
    const auth = await startTestAuth({ env: { REDIS_URL: redisUrl } });
    const got: RevocationEvent[] = [];
    const sub = await subscribeRevocations(redisUrl, (e) => got.push(e));
    try {
      await auth.revocations.revoke({ type: 'user', sub: 'someone' });
      await expect.poll(() => got.map((e) => e.type), { timeout: 2000 }).toContain('user');
    } finally {
      await sub.close();
      await auth.stop();
      await rm(auth.home, { recursive: true, force: true });
    }
  });
} else {
  console.warn('REDIS_URL is not set: skipping the Redis revocation-events contract');
  describe.skip('revocation events: redis (REDIS_URL unset)', () => {
    it('runs only with REDIS_URL', () => undefined);
  });
}

describe('local replay buffer', () => {
  it('replays events after a given id and drops those older than the window', async () => {
    const bus = new LocalRevocationBus(60);
    await bus.publish({ type: 'token', jti: 'a', at: 1 });
    const mark = bus.lastId;
    await bus.publish({ type: 'token', jti: 'b', at: 2 });
    await bus.publish({ type: 'token', jti: 'c', at: 3 });
    expect(bus.since(mark).map((n) => n.event.jti)).toEqual(['b', 'c']);
    const tiny = new LocalRevocationBus(0);
    await tiny.publish({ type: 'token', jti: 'x', at: 1 });
    await new Promise((r) => setTimeout(r, 5));
    expect(tiny.since(0)).toEqual([]);
  });
});
