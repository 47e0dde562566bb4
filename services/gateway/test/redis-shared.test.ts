import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisRevocationPublisher } from '@flotilla/kit/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../src/index.js';
import type { GatewayRoutesConfig } from '../src/routes/route-schema.js';
import { AUDIENCE, client, ISSUER, startIssuer, startUpstream, testCertificate } from './harness.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL)
  console.warn(
    'gateway: REDIS_URL is unset — skipping the Redis-backed throttling and denylist tests across two gateways',
  );

describe.skipIf(!REDIS_URL)('two gateway replicas sharing Redis', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const gateways: RunningGateway[] = [];
  let revocations: RedisRevocationPublisher;
  let tls: ReturnType<typeof testCertificate>;
  let http: ReturnType<typeof client>;
  const run = crypto.randomUUID().slice(0, 8);

  const start = async () => {
    const routes: GatewayRoutesConfig = {
      upstreams: { videos: upstream.url },
      throttle: { policies: { tight: { points: 3, duration: 60 } } },
      routes: [
        {
          method: 'GET',
          path: '/api/v',
          service: 'videos',
          upstreamPath: '/v',
          auth: 'required',
          throttle: 'tight',
        },
      ],
    };
    const gw = await startGateway({
      routes,
      tls: { cert: tls.cert, key: tls.key },
      env: {
        TLS_PORT: '0',
        FLOTILLA_HOME: mkdtempSync(join(tmpdir(), 'gw-redis-')),
        LOG_LEVEL: 'silent',
        REDIS_URL,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_JWKS_URL: issuer.jwksUrl,
      },
    });
    gateways.push(gw);
    return gw;
  };

  beforeAll(async () => {
    issuer = await startIssuer();
    upstream = await startUpstream();
    revocations = new RedisRevocationPublisher(REDIS_URL!);
    tls = testCertificate();
    http = client(tls.cert);
    await start();
    await start();
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await revocations?.close();
    await http?.agent.close();
    tls?.cleanup();
    await Promise.all([issuer?.close(), upstream?.close()]);
  });

  const call = async (gw: RunningGateway, token: string) =>
    (await http.call(`${gw.url}/api/v`, { headers: { authorization: `Bearer ${token}` } })).status;

  it('shares rate-limit counters', async () => {
    const token = await issuer.token({ sub: `rl-${run}` });
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    expect([await call(a, token), await call(b, token), await call(a, token), await call(b, token)]).toEqual([
      200, 200, 200, 429,
    ]);
  });

  it('denies a revoked token on every replica once it is published, and on a replica that starts later', async () => {
    const jti = `jti-${run}`;
    const token = await issuer.token({ jti, sub: `rev-${run}` });
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    expect(await call(a, token)).toBe(200);
    expect(await call(b, token)).toBe(200);
    await revocations.publish({ type: 'token', jti, at: Math.floor(Date.now() / 1000) });
    // Pub/sub delivers in its own time; a deadline only bounds a failing run.
    for (const gw of [a, b])
      await expect.poll(() => call(gw, token), { timeout: 15_000, interval: 20 }).toBe(401);
    const late = await start();
    expect(await call(late, token)).toBe(401);
  });
});
