import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, type InjectGateway, injectGateway } from '../../test/inject-gateway.js';

const cors = {
  origins: ['https://app.example'],
  methods: ['GET' as const, 'POST' as const],
  headers: ['authorization', 'content-type'],
  credentials: true,
  maxAge: 600,
};

// The CORS step in-process: preflights answered at the edge, headers on actual responses.
describe('the CORS step', () => {
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
          cors,
        },
        { method: 'GET', path: '/api/plain', service: 'metadata', upstreamPath: '/plain', auth: 'required' },
      ],
      callers: { alice: caller({ sub: 'alice', scope: 'videos:read' }) },
    });
  });
  afterAll(() => gw?.close());

  const preflight = (url: string, origin: string, method = 'GET', headers = 'authorization') =>
    gw.app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('answers an allowed preflight with 204 and the route’s CORS headers, without a token or the upstream', async () => {
    const res = await preflight('/api/videos', 'https://app.example');
    expect(res.statusCode).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
    expect(gw.forwarded).toHaveLength(0);
  });

  it.each([
    ['/api/videos', 'https://evil.example', 'GET', 'authorization', 'origin not allowed'],
    ['/api/videos', 'https://app.example', 'GET', 'x-secret', 'header not allowed'],
    ['/api/plain', 'https://app.example', 'GET', 'authorization', 'origin not allowed'],
  ])(
    'refuses a preflight to %s from %s for %s %s: 403, no CORS headers, audited',
    async (url, origin, method, headers, reason) => {
      const res = await preflight(url, origin, method, headers);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({
        code: 'FLT_FORBIDDEN',
        detail: `CORS preflight refused: ${reason}`,
      });
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      expect(gw.audited.at(-1)).toMatchObject({
        action: 'gateway.deny',
        actor: 'anonymous',
        reason: expect.stringMatching(/^cors: /),
      });
    },
  );

  it('matches a preflight as the request it announces: 405 for a method no route has', async () => {
    const res = await preflight('/api/videos', 'https://app.example', 'DELETE');
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds the CORS headers to an actual response for an allowed origin only', async () => {
    const auth = { authorization: 'Bearer alice' };
    const ok = await gw.app.inject({
      url: '/api/videos',
      headers: { ...auth, origin: 'https://app.example' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    const other = await gw.app.inject({
      url: '/api/videos',
      headers: { ...auth, origin: 'https://evil.example' },
    });
    expect(other.statusCode).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
