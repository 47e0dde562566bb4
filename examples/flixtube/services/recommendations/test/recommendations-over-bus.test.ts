// Views travel as `viewed` and deletions as `video-deleted`, as in `flotilla up`: a real
// control plane, the fleet's broker (the embedded one as its own process; RabbitMQ in a
// vhost of its own when BUS_URL is set), metadata and recommendations with their workload
// identities (mTLS) and the repository's policies, unchanged. A stand-in gateway (a
// service named `gateway`, which the policies let call both) makes the calls the real
// gateway would.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Liked, VideoDeleted, Viewed } from '@flixtube/messages';
import { createMetadata } from '@flixtube/metadata';
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
import { createRecommendations } from '../src/index.js';
import { AUDIENCE, POLICY_DIR } from './harness.js';

const BROKER_MAIN = createRequire(import.meta.url).resolve('@flotilla/broker/main');
const BUS_URL = process.env.BUS_URL;
if (!BUS_URL)
  console.warn('BUS_URL is not set: recommendations-over-bus runs on the embedded broker only, not RabbitMQ');

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

describe.each(transports)('views become recommendations on $name', ({ rabbit }) => {
  let home: string;
  let control: RunningControl;
  let issuer: TestIssuer;
  let vhost: RabbitVhost | undefined;
  let broker: ServiceProcess | undefined;
  const services: RunningService[] = [];
  let gateway: RunningService;
  let recommendations: RunningService;
  let notYet: { statusCode: number; json(): unknown } | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flixtube-recommendations-bus-'));
    // The repository's policies as they are: no grants added for the test.
    const policies = await policiesWithGrants(home, POLICY_DIR, '// no test grants\n');
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    const joined = fleetJoiner(control, { home, policies });
    issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    vhost = rabbit ? await rabbitVhost(BUS_URL as string, 'flixtube-recommendations') : undefined;
    const env = {
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl,
      POLICY_WATCH: 'false',
      ...(vhost ? { BUS_URL: vhost.url } : {}),
    };
    services.push(
      await createMetadata().start({ env: { ...(await joined('metadata')), ...env }, inMemoryDb: true }),
    );
    // recommendations starts before the broker: it keeps trying to subscribe until the broker is there.
    recommendations = await createRecommendations().start({
      env: { ...(await joined('recommendations')), ...env },
      inMemoryDb: true,
    });
    services.push(recommendations);
    if (!rabbit) {
      notYet = await recommendations.app.inject({ method: 'GET', url: '/readyz' });
      broker = await spawnService(BROKER_MAIN, await joined('broker'));
    }
    gateway = await defineService({ name: 'gateway', routes() {} }).start({ env: await joined('gateway') });
    services.push(gateway);
    // Two services, a broker and a control plane: more than the default on a busy machine.
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
  const recommended = async (token: string) => {
    const res = await call('recommendations', token, 'GET', '/recommendations?limit=50');
    if (res.status !== 200) return undefined;
    return res.json.recommendations as Array<{ videoId: string; title: string | null; reason: string }>;
  };

  it('carol watches what alice watched and gets alice’s other video, titled; deleting it in metadata removes it', async () => {
    const [bob, alice, carol] = [
      await person('bob', ['admin']),
      await person('alice'),
      await person('carol'),
    ];
    // recommendations is discoverable only once ready, and ready only once it consumes its topics.
    await until('recommendations is ready (subscribed)', () => recommended(carol));
    const [both, other] = await Promise.all(
      ['Watched by both', 'Watched by alice'].map(async (title) => {
        const created = await call('metadata', bob, 'POST', '/videos', { title });
        expect(created.status).toBe(201);
        return created.json.id as string;
      }),
    );
    for (const videoId of [both, other])
      expect((await call('metadata', alice, 'POST', '/views', { videoId })).status).toBe(202);
    expect((await call('metadata', carol, 'POST', '/views', { videoId: both })).status).toBe(202);

    const recs = await until('recommendations learns the views', async () => {
      const list = await recommended(carol);
      return list?.some((r) => r.videoId === other && r.reason === 'co-viewed') ? list : undefined;
    });
    expect(recs).toContainEqual({ videoId: other, title: 'Watched by alice', score: 1, reason: 'co-viewed' });
    expect(recs.map((r) => r.videoId)).not.toContain(both);

    expect((await call('metadata', bob, 'DELETE', `/videos/${other}`)).status).toBe(204);
    await until('recommendations drops the deleted video', async () => {
      const list = await recommended(carol);
      return list && !list.some((r) => r.videoId === other) ? list : undefined;
    });
  });

  it.skipIf(rabbit)('reports its subscriptions unready while the broker is not there', () => {
    expect(notYet?.statusCode).toBe(503);
    expect(notYet?.json()).toMatchObject({
      checks: { 'bus:viewed': { ok: false }, 'bus:liked': { ok: false }, 'bus:video-deleted': { ok: false } },
    });
  });

  it('refuses what the policies do not grant: recommendations may not publish viewed, liked or video-deleted', async () => {
    const videoId = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01';
    const at = new Date().toISOString();
    const denied = { code: 'FLT_POLICY_DENIED' };
    await expect(
      recommendations.ctx.bus.publish('viewed', Viewed, { videoId, userId: 'mallory', at }),
    ).rejects.toMatchObject(denied);
    await expect(
      recommendations.ctx.bus.publish('liked', Liked, { videoId, userId: 'mallory', liked: true, at }),
    ).rejects.toMatchObject(denied);
    await expect(
      recommendations.ctx.bus.publish('video-deleted', VideoDeleted, { videoId, at }),
    ).rejects.toMatchObject(denied);
  });
});
