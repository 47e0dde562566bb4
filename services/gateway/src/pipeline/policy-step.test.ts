import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, type InjectGateway, injectGateway } from '../../test/inject-gateway.js';

// The policy step in-process, with the repository's Cedar policies: a request is decided on
// its route's action, not on its method.
describe('the policy step', () => {
  let gw: InjectGateway;
  const route = (method: 'GET' | 'POST', path: string, action?: string) => ({
    method,
    path,
    service: 'metadata',
    upstreamPath: '/videos',
    auth: 'required' as const,
    ...(action ? { action } : {}),
  });
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [
        route('POST', '/api/videos', 'video:Create'),
        route('POST', '/api/videos/search', 'video:Read'),
        route('GET', '/api/videos', 'video:Read'),
        route('GET', '/api/history', 'history:Read'),
        route('GET', '/api/videos/legacy'),
        route('POST', '/api/videos/legacy'),
      ],
      callers: {
        alice: caller({ sub: 'alice', roles: 'viewer' }),
        erin: caller({ sub: 'erin' }),
        app: caller({
          sub: 'ops',
          client_id: 'ops',
          gty: 'client_credentials',
          scope: 'videos:read videos:write',
        }),
      },
    });
  });
  afterAll(() => gw?.close());

  const call = (method: 'GET' | 'POST', url: string, token: string) =>
    gw.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

  it('refuses a route whose action the policies deny, while the same method on a permitted action passes', async () => {
    // Applications may only read videos (gateway-clients-read-videos): POST is not the question.
    const create = await call('POST', '/api/videos', 'app');
    expect(create.statusCode).toBe(403);
    expect(create.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(create.json()).toMatchObject({ code: 'FLT_POLICY_DENIED', detail: 'denied by policy' });
    const search = await call('POST', '/api/videos/search', 'app');
    expect(search.statusCode).toBe(200);
    expect(gw.forwarded.map((r) => r.method)).toEqual(['POST']);
  });

  it('audits a policy refusal with the action’s reasons, never the token', async () => {
    await call('GET', '/api/history', 'app');
    const denial = gw.audited.at(-1)!;
    expect(denial).toMatchObject({
      action: 'gateway.deny',
      actor: 'client:ops',
      target: 'GET /api/history',
      reason: 'policy: denied by policy',
      details: { status: 403, policies: [], reasons: ['no policy permits it'] },
    });
    expect(JSON.stringify(denial)).not.toContain('Bearer');
  });

  it('lets a signed-in person do the API’s actions', async () => {
    for (const [method, url] of [
      ['POST', '/api/videos'],
      ['GET', '/api/videos'],
      ['GET', '/api/history'],
    ] as const)
      expect((await call(method, url, 'alice')).statusCode, `${method} ${url}`).toBe(200);
  });

  it('decides a route without an action on http:<METHOD>', async () => {
    expect((await call('GET', '/api/videos/legacy', 'app')).statusCode).toBe(200);
    expect((await call('POST', '/api/videos/legacy', 'app')).json()).toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    expect((await call('POST', '/api/videos/legacy', 'alice')).statusCode).toBe(200);
  });
});
