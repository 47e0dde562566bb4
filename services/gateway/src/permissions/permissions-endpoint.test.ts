import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, type InjectGateway, injectGateway } from '../../test/inject-gateway.js';
import type { RouteConfig } from '../routes/route-schema.js';

const videos: RouteConfig = {
  method: 'GET',
  path: '/api/videos',
  service: 'metadata',
  upstreamPath: '/videos',
  auth: 'required',
  scopes: ['videos:read'],
  action: 'video:Read',
};
const ask = (gw: InjectGateway, payload: unknown, token = 'alice') =>
  gw.app.inject({
    method: 'POST',
    url: '/api/permissions',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

// The built-in endpoint in-process: what the end-to-end test (test/permissions.e2e.test.ts)
// does not reach easily.
describe('POST /api/permissions in-process', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [videos],
      callers: { alice: caller({ sub: 'alice', roles: 'viewer', scope: 'videos:read' }) },
    });
  });
  afterAll(() => gw?.close());

  it('answers without an audit record (a read) and without the upstream', async () => {
    const res = await ask(gw, { requests: [{ method: 'GET', path: '/api/videos' }] });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ results: [{ method: 'GET', path: '/api/videos', allowed: true }] });
    expect(gw.audited).toEqual([]);
    expect(gw.forwarded).toEqual([]);
  });

  it('refuses a body over its limit with 413 before reading it', async () => {
    const res = await ask(gw, `{"requests":[],"pad":"${'x'.repeat(130 * 1024)}"}`);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'FLT_BODY_TOO_LARGE' });
  });
});

describe('POST /api/permissions with a policy that answers later', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [
        videos,
        {
          ...videos,
          method: 'DELETE',
          path: '/api/videos/:id',
          upstreamPath: '/v/:id',
          action: 'video:Delete',
        },
      ],
      callers: { alice: caller({ sub: 'alice', scope: 'videos:read' }) },
      // A remote decision point: every answer is a promise; only reads are allowed.
      policy: {
        decide: async ({ action, resource }) => ({
          decision: action === 'video:Read' || resource.id === 'POST /api/permissions' ? 'allow' : 'deny',
          reasons: [],
        }),
      },
    });
  });
  afterAll(() => gw?.close());

  it('waits for each decision, in the order asked', async () => {
    const res = await ask(gw, {
      requests: [
        { method: 'DELETE', path: '/api/videos/1' },
        { method: 'GET', path: '/api/videos' },
      ],
    });
    const { results } = res.json<{ results: Array<{ allowed: boolean }> }>();
    expect(results.map((r) => r.allowed)).toEqual([false, true]);
  });
});

describe('POST /api/permissions turned off', () => {
  let gw: InjectGateway;
  beforeAll(async () => {
    gw = await injectGateway({
      routes: [videos],
      permissions: { enabled: false },
      callers: { alice: caller({ sub: 'alice', scope: 'videos:read' }) },
    });
  });
  afterAll(() => gw?.close());

  it('is no route: 404', async () => {
    const res = await ask(gw, { requests: [{ method: 'GET', path: '/api/videos' }] });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'FLT_NOT_FOUND' });
  });
});
