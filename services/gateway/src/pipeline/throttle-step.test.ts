import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, type InjectGateway, injectGateway } from '../../test/inject-gateway.js';

// The throttle step (by source address, before authentication) and the quota step (per
// caller, after the policy), in-process.
describe('throttling', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [
        {
          method: 'POST',
          path: '/oauth/token',
          service: 'auth',
          upstreamPath: '/token',
          auth: 'public',
          throttle: 'auth-endpoint',
        },
        {
          method: 'GET',
          path: '/api/videos',
          service: 'metadata',
          upstreamPath: '/videos',
          auth: 'required',
        },
        {
          method: 'DELETE',
          path: '/api/videos/:id',
          service: 'metadata',
          upstreamPath: '/videos/:id',
          auth: 'required',
        },
      ],
      throttle: {
        policies: { 'auth-endpoint': { points: 2, duration: 60, key: 'ip' } },
        user: { points: 2, duration: 60 },
      },
      callers: {
        alice: caller({ sub: 'alice' }),
        bob: caller({ sub: 'bob' }),
        app: caller({ sub: 'ops', client_id: 'ops', gty: 'client_credentials' }),
      },
    });
  });
  afterAll(() => gw?.close());

  it('limits the token endpoint by source address, before any credentials are looked at', async () => {
    const token = () =>
      gw.app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: 'Basic bm8=' } });
    expect([(await token()).statusCode, (await token()).statusCode]).toEqual([200, 200]);
    const refused = await token();
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'FLT_RATE_LIMITED', status: 429 });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-policy']).toBe('"auth-endpoint";q=2;w=60');
    expect(refused.headers.ratelimit).toMatch(/^"auth-endpoint";r=0;t=\d+$/);
    expect(gw.audited.at(-1)).toMatchObject({ action: 'gateway.throttle', actor: 'anonymous' });
  });

  it('charges each user their own quota, with RateLimit fields on every answer', async () => {
    const get = (who: string) =>
      gw.app.inject({ url: '/api/videos', headers: { authorization: `Bearer ${who}` } });
    const first = await get('alice');
    expect(first.statusCode).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"user";q=2;w=60');
    expect(first.headers.ratelimit).toMatch(/^"user";r=1;t=\d+$/);
    expect((await get('alice')).statusCode).toBe(200);
    const refused = await get('alice');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers.ratelimit).toMatch(/^"user";r=0;t=\d+$/);
    expect(gw.audited.at(-1)).toMatchObject({ action: 'gateway.throttle', actor: 'user:alice' });
    expect((await get('bob')).statusCode).toBe(200);
  });

  it('charges no quota for a request the policy refuses', async () => {
    // An application may not delete (gateway-clients-read-videos): refused before its quota.
    const del = () =>
      gw.app.inject({ method: 'DELETE', url: '/api/videos/1', headers: { authorization: 'Bearer app' } });
    for (let i = 0; i < 3; i++) expect((await del()).json()).toMatchObject({ code: 'FLT_POLICY_DENIED' });
  });
});
