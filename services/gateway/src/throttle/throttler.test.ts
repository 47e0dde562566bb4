import { describe, expect, it } from 'vitest';
import { principalFromClaims } from '../auth/principal.js';
import { RouteTable } from '../routes/route-table.js';
import { rateLimitHeaders } from './ratelimit-headers.js';
import { Throttler } from './throttler.js';

const [route, login] = new RouteTable([
  { method: 'GET', path: '/a', service: 's', upstreamPath: '/a', auth: 'required', throttle: 'op' },
  {
    method: 'POST',
    path: '/login',
    service: 's',
    upstreamPath: '/login',
    auth: 'public',
    throttle: 'auth-endpoint',
  },
]).routes;
const user = (sub: string, roles: string[] = [], client = 'web') =>
  principalFromClaims({ sub, client_id: client, jti: 'j', iat: 1, exp: 2, roles }, 'jwt');

describe('Throttler', () => {
  const config = {
    client: { points: 5, duration: 60 },
    user: { points: 2, duration: 60 },
    tiers: { premium: { points: 4, duration: 60 } },
    policies: { op: { points: 100, duration: 60 } },
  };

  it('per-user fair usage, with a larger allowance for a privilege tier', async () => {
    const t = new Throttler(config);
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await t.afterAuth(route!, user('u1'), '1.1.1.1')).allowed);
    expect(results).toEqual([true, true, false]);
    const premium = [];
    for (let i = 0; i < 5; i++)
      premium.push((await t.afterAuth(route!, user('u2', ['premium'], 'other-app'), '1.1.1.1')).allowed);
    expect(premium).toEqual([true, true, true, true, false]);
  });

  it('per-application quota across users', async () => {
    const t = new Throttler(config);
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await t.afterAuth(route!, user(`u${i}`, [], 'app'), '1.1.1.1'));
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, true, true, false]);
    expect(outcomes[5]?.refusedBy).toBe('client');
    expect(outcomes[5]?.retryAfterSec).toBeGreaterThan(0);
  });

  it('limits login endpoints by IP before authentication (default 10/min)', async () => {
    const t = new Throttler({});
    const allowed = [];
    for (let i = 0; i < 11; i++) allowed.push((await t.beforeAuth(login!, '2.2.2.2')).allowed);
    expect(allowed.filter(Boolean)).toHaveLength(10);
    expect((await t.beforeAuth(login!, '3.3.3.3')).allowed).toBe(true);
  });

  it('answers in-memory quotas synchronously, with the same states and refusal as before', () => {
    const t = new Throttler({
      user: { points: 2, duration: 60 },
      policies: { op: { points: 100, duration: 60 } },
    });
    const first = t.afterAuth(route!, user('sync'), '1.1.1.1');
    expect(first).not.toBeInstanceOf(Promise);
    expect(first).toEqual({
      allowed: true,
      states: [
        { name: 'user', limit: { points: 2, duration: 60 }, remaining: 1, resetSec: 60 },
        { name: 'op', limit: { points: 100, duration: 60 }, remaining: 99, resetSec: 60 },
      ],
    });
    expect(t.afterAuth(route!, user('sync'), '1.1.1.1')).not.toBeInstanceOf(Promise);
    const refused = t.afterAuth(route!, user('sync'), '1.1.1.1') as Awaited<
      ReturnType<Throttler['afterAuth']>
    >;
    expect(refused.allowed).toBe(false);
    expect(refused.refusedBy).toBe('user');
    expect(refused.retryAfterSec).toBe(60);
    // The refusal stopped before the per-operation quota was spent.
    expect(refused.states).toEqual([
      { name: 'user', limit: { points: 2, duration: 60 }, remaining: 0, resetSec: 60 },
    ]);
    expect(rateLimitHeaders(refused.states)).toEqual({
      'ratelimit-policy': '"user";q=2;w=60',
      ratelimit: '"user";r=0;t=60',
    });
    expect(t.beforeAuth(login!, '9.9.9.9')).not.toBeInstanceOf(Promise);
  });

  it('formats draft-ietf-httpapi-ratelimit-headers-11 fields', () => {
    expect(
      rateLimitHeaders([
        { name: 'user', limit: { points: 100, duration: 60 }, remaining: 0, resetSec: 17 },
        { name: 'a"b', limit: { points: 5, duration: 1 }, remaining: 4, resetSec: 1 },
      ]),
    ).toEqual({
      'ratelimit-policy': '"user";q=100;w=60, "a\\"b";q=5;w=1',
      ratelimit: '"user";r=0;t=17, "a\\"b";r=4;t=1',
    });
  });
});
