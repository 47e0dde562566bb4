import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, type InjectGateway, injectGateway } from '../../test/inject-gateway.js';

// The edge step in-process: what is refused before any route's own step runs.
describe('the edge step', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [
        {
          method: 'GET',
          path: '/api/videos/:id',
          service: 'metadata',
          upstreamPath: '/videos/:id',
          auth: 'public',
        },
        { method: 'GET', path: '/api/admin', service: 'metadata', upstreamPath: '/admin', auth: 'public' },
      ],
      callers: { alice: caller({ sub: 'alice' }) },
    });
  });
  afterAll(() => gw?.close());

  it.each([
    ['/api/videos/..%2f..%2fadmin', 'encoded separator'],
    ['/api/videos/%252e%252e', 'double-encoded dot segment'],
    ['/api/videos/a%00b', 'encoded NUL'],
  ])('refuses %s (%s) with 400 before any route, and forwards nothing', async (url, reason) => {
    // (A backslash or an escape above the root is refused too, but inject's URL parsing
    // resolves those first: test/gateway.e2e.test.ts sends them over a socket.)
    const res = await gw.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'FLT_BAD_REQUEST', status: 400 });
    expect(res.json().detail, reason).toMatch(/in path$/);
    expect(gw.forwarded).toHaveLength(0);
  });

  it('matches the normalised path, and re-encodes what it forwards', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api//videos/./a%20b/?x=1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ method: 'GET', path: '/videos/a%20b?x=1' });
  });

  it('answers 404 for no route, 405 with Allow for another method', async () => {
    const missing = await gw.app.inject({ method: 'GET', url: '/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'FLT_NOT_FOUND' });
    const wrong = await gw.app.inject({ method: 'DELETE', url: '/api/videos/1' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect(wrong.json()).toMatchObject({ code: 'FLT_METHOD_NOT_ALLOWED' });
  });

  it('puts the security headers on its own answers', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/nothing' });
    expect(res.headers).toMatchObject({
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      vary: 'Origin',
    });
  });
});

describe('the edge step with an HTTPS edge', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [
        { method: 'GET', path: '/api/ping', service: 'metadata', upstreamPath: '/ping', auth: 'public' },
      ],
      httpsPort: 8443,
    });
  });
  afterAll(() => gw?.close());

  it('redirects plain HTTP with 308 to the same path, and refuses a bad Host', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/ping?x=1',
      headers: { host: 'edge.example:8080' },
    });
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe('https://edge.example:8443/api/ping?x=1');
    const bad = await gw.app.inject({ method: 'GET', url: '/api/ping', headers: { host: 'evil.example/x' } });
    expect(bad.statusCode).toBe(400);
    expect(gw.forwarded).toHaveLength(0);
  });
});
