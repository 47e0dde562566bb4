// A view travels as a `viewed` message, as in `flotilla up`: a real control plane, the
// fleet's broker (the embedded one as its own process; RabbitMQ in a vhost of its own
// when BUS_URL is set), metadata and history with their workload identities (mTLS) and
// the repository's policies, unchanged. A stand-in gateway (a service named `gateway`,
// which the policies let call both) makes the calls the real gateway would.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistory } from '@flixtube/history';
import { createMetadata } from '@flixtube/metadata';
import { Viewed } from '@flixtube/messages';
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
  console.warn('BUS_URL is not set: viewed-over-bus runs on the embedded broker only, not RabbitMQ');

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

describe.each(transports)('a view travels as viewed on $name', ({ rabbit }) => {
  let home: string;
  let control: RunningControl;
  let issuer: TestIssuer;
  let vhost: RabbitVhost | undefined;
  let broker: ServiceProcess | undefined;
  const services: RunningService[] = [];
  let gateway: RunningService;
  let metadata: RunningService;
  let history: RunningService;
  let notYet: { statusCode: number; json(): unknown } | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flixtube-viewed-'));
    // The repository's policies as they are: no grants added for the test.
    const policies = await policiesWithGrants(home, POLICY_DIR, '// no test grants\n');
    control = await startControl({
      env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
    });
    const joined = fleetJoiner(control, { home, policies });
    issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
    vhost = rabbit ? await rabbitVhost(BUS_URL as string, 'flixtube-viewed') : undefined;
    const env = {
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl,
      POLICY_WATCH: 'false',
      ...(vhost ? { BUS_URL: vhost.url } : {}),
    };
    metadata = await createMetadata().start({
      env: { ...(await joined('metadata')), ...env },
      inMemoryDb: true,
    });
    services.push(metadata);
    // history starts before the broker: it keeps trying to subscribe until the broker is there.
    history = await createHistory().start({
      env: { ...(await joined('history')), ...env },
      inMemoryDb: true,
    });
    services.push(history);
    if (!rabbit) {
      // No broker yet: history is up but not ready, and says why.
      notYet = await history.app.inject({ method: 'GET', url: '/readyz' });
      broker = await spawnService(BROKER_MAIN, await joined('broker'));
    }
    gateway = await defineService({ name: 'gateway', routes() {} }).start({ env: await joined('gateway') });
    services.push(gateway);
  });

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await broker?.kill('SIGKILL');
    await control?.stop();
    await issuer?.close();
    await vhost?.delete();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const person = (sub: string, roles: string[]) =>
    issuer.token(sub, { claims: { roles, amr: ['pwd', 'otp'] } });

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

  it('POST /views on metadata → history lists the view', async () => {
    const bob = await person(`bob-${process.pid}`, ['admin']);
    const aliceSub = `alice-${process.pid}-${rabbit ? 'rmq' : 'emb'}`;
    const alice = await person(aliceSub, ['viewer']);
    const created = await call('metadata', bob, 'POST', '/videos', { title: 'Over the bus' });
    expect(created.status).toBe(201);
    const videoId = created.json.id as string;

    // history is discoverable only once ready, and it is ready only once it consumes `viewed`.
    await until('history is ready (subscribed to viewed)', async () => {
      const res = await call('history', alice, 'GET', '/history');
      return res.status === 200 ? res : undefined;
    });
    const viewed = await call('metadata', alice, 'POST', '/views', { videoId });
    expect(viewed.status).toBe(202);

    const listed = await until('history lists the view', async () => {
      const res = await call('history', alice, 'GET', '/history');
      const views = (res.json.views ?? []) as Array<{ videoId: string; title: string | null }>;
      return views.length > 0 ? views : undefined;
    });
    expect(listed).toEqual([expect.objectContaining({ videoId, title: 'Over the bus' })]);
    expect(listed).toHaveLength(1);
  });

  it.skipIf(rabbit)('history reports bus:viewed unready while the broker is not there', () => {
    expect(notYet?.statusCode).toBe(503);
    expect(notYet?.json()).toMatchObject({
      checks: { 'bus:viewed': { ok: false, error: expect.stringMatching(/^not consuming viewed: /) } },
    });
  });

  it('refuses what the policies do not grant: history may not publish viewed, metadata may not subscribe', async () => {
    const body = {
      videoId: '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01',
      userId: 'mallory',
      at: new Date().toISOString(),
    };
    await expect(history.ctx.bus.publish('viewed', Viewed, body)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(metadata.ctx.bus.subscribe('viewed', Viewed, async () => undefined)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
  });
});
