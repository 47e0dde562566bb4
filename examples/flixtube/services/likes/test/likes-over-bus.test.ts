// Likes travel as `liked` and deletions as `video-deleted`, as in `flotilla up`: a real
// control plane, the fleet's broker (the embedded one as its own process; RabbitMQ in a
// vhost of its own when BUS_URL is set), metadata, likes and recommendations with their
// workload identities (mTLS) and the repository's policies, unchanged. A stand-in gateway
// (a service named `gateway`, which the policies let call all three) makes the calls the
// real gateway would.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLikes } from '@flixtube/likes';
import { Liked, Viewed } from '@flixtube/messages';
import { createMetadata } from '@flixtube/metadata';
import { createRecommendations } from '@flixtube/recommendations';
import { type RunningControl, startControl } from '@flotilla/control';
import { defineService, type RunningService } from '@flotilla/kit';
import {
  fleetJoiner,
  policiesWithGrants,
  type RabbitVhost,
  rabbitVhost,
  type ServiceProcess,
  spawnService,
  startTestIssuer,
  type TestIssuer,
} from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, POLICY_DIR } from './harness.js';

const BROKER_MAIN = createRequire(import.meta.url).resolve('@flotilla/broker/main');
const BUS_URL = process.env.BUS_URL;
if (!BUS_URL)
  console.warn('BUS_URL is not set: likes-over-bus runs on the embedded broker only, not RabbitMQ');

const transports = [
  { name: 'the embedded broker', rabbit: false },
  ...(BUS_URL ? [{ name: 'RabbitMQ', rabbit: true }] : []),
];

/** Waits for `what`, polling; fails after `ms` with the last answer (not a speed check). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(transports)('likes travel on $name', ({ rabbit }) => {
  let home: string;
  let control: RunningControl;
  let issuer: TestIssuer;
  let vhost: RabbitVhost | undefined;
  let broker: ServiceProcess | undefined;
  const services: RunningService[] = [];
  let gateway: RunningService;
  let metadata: RunningService;
  let likes: RunningService;
  let recommendations: RunningService;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flixtube-likes-bus-'));
    // The repository's policies as they are: no grants added for the test.
    const policies = await policiesWithGrants(home, POLICY_DIR, '// no test grants\n');
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    const joined = fleetJoiner(control, { home, policies });
    issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    vhost = rabbit ? await rabbitVhost(BUS_URL as string, 'flixtube-likes') : undefined;
    const env = {
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl,
      POLICY_WATCH: 'false',
      ...(vhost ? { BUS_URL: vhost.url } : {}),
    };
    if (!rabbit) broker = await spawnService(BROKER_MAIN, await joined('broker'));
    for (const [name, service] of [
      ['metadata', createMetadata()],
      ['likes', createLikes()],
      ['recommendations', createRecommendations()],
    ] as const) {
      const running = await service.start({ env: { ...(await joined(name)), ...env }, inMemoryDb: true });
      services.push(running);
    }
    [metadata, likes, recommendations] = services as [RunningService, RunningService, RunningService];
    gateway = await defineService({ name: 'gateway', routes() {} }).start({ env: await joined('gateway') });
    services.push(gateway);
    // Three services, a broker and a control plane: more than the default on a busy machine.
  }, 180_000);

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await broker?.kill('SIGKILL');
    await control?.stop();
    await issuer?.close();
    await vhost?.delete();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const tag = `${process.pid}-${rabbit ? 'rmq' : 'emb'}`;
  const person = (name: string, roles = ['viewer']) =>
    issuer.token(`${name}-${tag}`, { claims: { roles, amr: ['pwd', 'otp'] } });

  /** A call through the stand-in gateway, over mTLS, with the user's bearer token. */
  async function call(service: string, token: string, method: string, path: string, body?: unknown) {
    const res = await gateway.ctx.call(service, {
      method,
      path,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  /** Waits until `service` is discoverable, which it is only once ready (consuming its subscriptions). */
  const ready = (service: string, token: string, path: string) =>
    until(`${service} is ready (subscribed)`, async () => {
      const res = await call(service, token, 'GET', path);
      return res.status === 200 ? res : undefined;
    });
  const recommended = async (token: string) =>
    ((await call('recommendations', token, 'GET', '/recommendations?limit=50')).json.recommendations ??
      []) as Array<{
      videoId: string;
      reason: string;
    }>;

  it('a like reaches recommendations as liked; a deletion in metadata reaches likes as video-deleted', async () => {
    const [bob, alice, carol] = [
      await person('bob', ['admin']),
      await person('alice'),
      await person('carol'),
    ];
    await ready('likes', alice, '/favorites');
    await ready('recommendations', carol, '/recommendations');
    const [a, b] = await Promise.all(
      ['Liked by both', 'Liked by alice'].map(async (title) => {
        const created = await call('metadata', bob, 'POST', '/videos', { title });
        expect(created.status).toBe(201);
        return created.json.id as string;
      }),
    );
    for (const id of [a, b])
      expect((await call('likes', alice, 'PUT', `/videos/${id}/like`)).status).toBe(204);
    expect((await call('likes', alice, 'PUT', `/videos/${b}/favorite`)).status).toBe(204);
    expect((await call('likes', carol, 'PUT', `/videos/${a}/like`)).status).toBe(204);
    expect((await call('likes', carol, 'GET', `/videos/${a}/likes`)).json).toEqual({
      videoId: a,
      likes: 2,
      liked: true,
      favorited: false,
    });

    // carol liked what alice liked: alice's other like is recommended to her, from `liked`.
    const recs = await until('recommendations learns the likes', async () => {
      const list = await recommended(carol);
      return list.some((r) => r.videoId === b && r.reason === 'co-viewed') ? list : undefined;
    });
    expect(recs.map((r) => r.videoId)).not.toContain(a);

    // bob deletes b in metadata: likes forgets alice's favorite, recommendations the video.
    expect((await call('metadata', bob, 'DELETE', `/videos/${b}`)).status).toBe(204);
    await until('likes forgets the deleted video', async () => {
      const res = await call('likes', alice, 'GET', '/favorites');
      const favorites = res.json.favorites as Array<{ videoId: string }>;
      return favorites.some((f) => f.videoId === b) ? undefined : favorites;
    });
    await until('recommendations drops the deleted video', async () =>
      (await recommended(carol)).some((r) => r.videoId === b) ? undefined : true,
    );
    expect((await call('likes', alice, 'PUT', `/videos/${b}/like`)).status).toBe(404);
  });

  it('refuses what the policies do not grant: likes may not publish viewed nor subscribe to liked, metadata may not publish liked', async () => {
    const like = {
      videoId: '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01',
      userId: 'mallory',
      liked: true,
      at: new Date().toISOString(),
    };
    const { liked: _, ...view } = like;
    await expect(likes.ctx.bus.publish('viewed', Viewed, view)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(likes.ctx.bus.subscribe('liked', Liked, async () => undefined)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(metadata.ctx.bus.publish('liked', Liked, like)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(recommendations.ctx.bus.publish('liked', Liked, like)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
  });
});
