import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, type InjectGateway, injectGateway } from '../../test/inject-gateway.js';

// The authenticate, revocation and scope steps in-process.
describe('who may reach a route', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [
        {
          method: 'GET',
          path: '/api/videos',
          service: 'metadata',
          upstreamPath: '/videos',
          auth: 'required',
          scopes: ['videos:read'],
          action: 'video:Read',
        },
        {
          method: 'POST',
          path: '/api/videos',
          service: 'metadata',
          upstreamPath: '/videos',
          auth: 'required',
          scopes: ['videos:read', 'videos:write'],
          action: 'video:Create',
        },
      ],
      callers: {
        reader: caller({ sub: 'reader', scope: 'videos:read' }),
        writer: caller({ sub: 'writer', scope: 'videos:read videos:write' }),
        revoked: caller({ sub: 'gone', scope: 'videos:read', jti: 'jti-revoked' }),
      },
      revoked: ['jti-revoked'],
    });
  });
  afterAll(() => gw?.close());

  const call = (method: 'GET' | 'POST', token?: string) =>
    gw.app.inject({ method, url: '/api/videos', headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('refuses a missing or unknown token with 401, audited', async () => {
    for (const token of [undefined, 'nobody']) {
      const res = await call('GET', token);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'FLT_UNAUTHENTICATED' });
    }
    expect(gw.audited.at(-1)).toMatchObject({ reason: expect.stringMatching(/^invalid-token: /) });
  });

  it('refuses a revoked token with 401 invalid_token, however valid it is', async () => {
    const res = await call('GET', 'revoked');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(gw.audited.at(-1)).toMatchObject({
      actor: 'user:gone',
      reason: expect.stringMatching(/^revoked: /),
    });
  });

  it('refuses a token without every scope the route requires: 403 FLT_SCOPE_MISSING, naming them', async () => {
    const res = await call('POST', 'reader');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FLT_SCOPE_MISSING', status: 403 });
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="flotilla", error="insufficient_scope", scope="videos:read videos:write"',
    );
    expect(gw.audited.at(-1)).toMatchObject({
      actor: 'user:reader',
      reason: expect.stringMatching(/^insufficient-scope: /),
    });
    expect(gw.forwarded).toHaveLength(0);
  });

  it('lets through a token with the scopes, with the caller’s token forwarded', async () => {
    expect((await call('GET', 'reader')).statusCode).toBe(200);
    expect((await call('POST', 'writer')).statusCode).toBe(200);
    expect(gw.forwarded.map((r) => [r.method, r.headers.authorization])).toEqual([
      ['GET', 'Bearer reader'],
      ['POST', 'Bearer writer'],
    ]);
  });
});
