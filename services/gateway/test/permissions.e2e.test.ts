// POST /api/permissions end to end on sockets: real ES256 tokens, the repository's Cedar
// policies, a TLS edge and an echoing upstream that must never be called.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../src/index.js';
import type { GatewayRoutesConfig } from '../src/routes/route-schema.js';
import { AUDIENCE, client, ISSUER, startIssuer, startUpstream, testCertificate } from './harness.js';
import { REPO_POLICIES } from './inject-gateway.js';

type Question = { method: string; path: string };

let gw: RunningGateway;
let http: ReturnType<typeof client>;
let issuer: Awaited<ReturnType<typeof startIssuer>>;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let tls: ReturnType<typeof testCertificate>;
const tokens: Record<string, string> = {};

const route = (
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  extra: Partial<GatewayRoutesConfig['routes'][number]> = {},
): GatewayRoutesConfig['routes'][number] => ({
  method,
  path,
  service: 'videos',
  upstreamPath: path.replace(/^\/api/, ''),
  auth: 'required',
  ...extra,
});

// FlixTube's routes as the fleet file declares them (a few of them).
const routes = (upstreamUrl: string): GatewayRoutesConfig => ({
  upstreams: { videos: upstreamUrl },
  throttle: { policies: { permissions: { points: 30, duration: 60 } } },
  permissions: { throttle: 'permissions' },
  routes: [
    route('GET', '/api/videos', { scopes: ['videos:read'], action: 'video:Read' }),
    route('GET', '/api/videos/:id', { scopes: ['videos:read'], action: 'video:Read' }),
    route('DELETE', '/api/videos/:id', { scopes: ['videos:write'], action: 'video:Delete' }),
    route('POST', '/api/uploads', { scopes: ['videos:write'], action: 'video:Upload' }),
    route('GET', '/api/history', { scopes: ['videos:read'], action: 'history:Read' }),
    route('GET', '/api/videos/:id/stream', { auth: 'public' }),
  ],
});

beforeAll(async () => {
  issuer = await startIssuer();
  upstream = await startUpstream();
  tls = testCertificate();
  gw = await startGateway({
    routes: routes(upstream.url),
    tls: { cert: tls.cert, key: tls.key },
    env: {
      FLOTILLA_HOME: mkdtempSync(join(tmpdir(), 'gw-perms-')),
      FLOTILLA_POLICY_DIR: REPO_POLICIES,
      LOG_LEVEL: 'silent',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: issuer.jwksUrl,
      TLS_PORT: '0',
    },
  });
  http = client(tls.cert);
  const both = 'videos:read videos:write';
  tokens.alice = await issuer.token({ sub: 'alice', roles: ['viewer'], scope: both });
  tokens.bob = await issuer.token({ sub: 'bob', roles: ['admin'], scope: both });
  tokens.carol = await issuer.token({ sub: 'carol', roles: ['viewer'], scope: 'videos:read' });
  tokens.erin = await issuer.token({ sub: 'erin', roles: ['viewer'], scope: both });
  tokens.app = await issuer.token({ sub: 'ops', client_id: 'ops', gty: 'client_credentials', scope: both });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  await http?.agent.close();
  await Promise.all([issuer?.close(), upstream?.close()]);
  tls?.cleanup();
});

function ask(who: string | undefined, body: unknown, type = 'application/json') {
  return http.call(`${gw.url}/api/permissions`, {
    method: 'POST',
    headers: {
      'content-type': type,
      ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function answers(who: string, requests: Question[]): Promise<boolean[]> {
  const res = await ask(who, { requests });
  expect(res.status, res.text).toBe(200);
  const results = res.json().results as Array<Question & { allowed: boolean }>;
  // In the order asked, each echoing what was asked.
  expect(results.map(({ method, path }) => ({ method, path }))).toEqual(requests);
  return results.map((r) => r.allowed);
}

const q = (method: string, path: string): Question => ({ method, path });

describe('POST /api/permissions', () => {
  it('answers per the Cedar policies: a viewer may not upload, an administrator may', async () => {
    const asked = [q('POST', '/api/uploads'), q('GET', '/api/videos'), q('DELETE', '/api/videos/v1')];
    expect(await answers('alice', asked)).toEqual([false, true, true]);
    expect(await answers('bob', asked)).toEqual([true, true, true]);
  });

  it('answers false for a route the token lacks a scope for', async () => {
    const asked = [q('DELETE', '/api/videos/v1'), q('POST', '/api/uploads'), q('GET', '/api/videos/v1')];
    expect(await answers('carol', asked)).toEqual([false, false, true]);
  });

  it('matches as a request is matched: params, query ignored, HEAD on a GET route, normalised paths', async () => {
    const asked = [
      q('GET', '/api/videos/v1?x=1'),
      q('HEAD', '/api/videos'),
      q('GET', '/api//videos/./v2/'),
      q('GET', '/api/history'),
    ];
    expect(await answers('alice', asked)).toEqual([true, true, true, true]);
  });

  it('answers false for no route, another method, or a path the edge refuses', async () => {
    const asked = [
      q('GET', '/api/nothing'),
      q('PUT', '/api/videos'),
      q('GET', '/index.html'),
      q('GET', '/api/videos/..%2f..%2fadmin'),
      q('GET', '/api/videos/%252e%252e'),
    ];
    expect(await answers('bob', asked)).toEqual([false, false, false, false, false]);
  });

  it('answers true for a public route, and a path parameter never changes an answer', async () => {
    expect(
      await answers('carol', [
        q('GET', '/api/videos/v1/stream?token=t'),
        q('DELETE', '/api/videos/mine'),
        q('DELETE', '/api/videos/theirs'),
      ]),
    ).toEqual([true, false, false]);
  });

  it('asks about itself as about any route', async () => {
    expect(await answers('alice', [q('POST', '/api/permissions'), q('GET', '/api/permissions')])).toEqual([
      true,
      false,
    ]);
  });

  it('never calls the upstream', () => {
    expect(upstream.seen).toEqual([]);
  });

  it('refuses a request without a valid token with 401, as any protected route', async () => {
    const none = await ask(undefined, { requests: [q('GET', '/api/videos')] });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="flotilla"');
    expect(none.json()).toMatchObject({ code: 'FLT_UNAUTHENTICATED' });
    const bad = await http.call(`${gw.url}/api/permissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-jwt' },
      body: JSON.stringify({ requests: [q('GET', '/api/videos')] }),
    });
    expect(bad.status).toBe(401);
  });

  it('is decided by the policies itself: an application acting for itself is refused', async () => {
    const res = await ask('app', { requests: [q('GET', '/api/videos')] });
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FLT_POLICY_DENIED' });
  });

  it.each([
    ['not JSON', '{"requests": ['],
    ['no requests', {}],
    ['an empty list', { requests: [] }],
    ['51 requests', { requests: Array.from({ length: 51 }, () => q('GET', '/api/videos')) }],
    ['an unknown method', { requests: [q('FETCH', '/api/videos')] }],
    ['a path without a leading /', { requests: [q('GET', 'api/videos')] }],
    ['a path over 2 KB', { requests: [q('GET', `/${'a'.repeat(2048)}`)] }],
    ['an unknown key', { requests: [{ ...q('GET', '/api/videos'), as: 'bob' }] }],
    ['a list of strings', { requests: ['GET /api/videos'] }],
  ])('refuses a body with %s: 400 FLT_VALIDATION, nothing decided', async (_name, body) => {
    const res = await ask('alice', body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'FLT_VALIDATION', status: 400 });
  });

  it('refuses a body that is not JSON by its type: 415', async () => {
    const res = await ask('alice', { requests: [q('GET', '/api/videos')] }, 'text/plain');
    expect(res.status).toBe(415);
    expect(res.json()).toMatchObject({ code: 'FLT_MEDIA_TYPE' });
  });

  it('is rate limited as a route: its throttle policy, with the RateLimit fields', async () => {
    const body = { requests: [q('GET', '/api/videos')] };
    for (let i = 0; i < 30; i++) {
      const ok = await ask('erin', body);
      expect(ok.status).toBe(200);
      expect(ok.headers.ratelimit).toMatch(/^"permissions";r=\d+;t=\d+$/);
    }
    const refused = await ask('erin', body);
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'FLT_RATE_LIMITED' });
  });

  it('counts the answers in its metrics, and the calls by route', async () => {
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/gateway_permission_checks_total\{allowed="true"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/gateway_permission_checks_total\{allowed="false"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/gateway_requests_total\{route="POST \/api\/permissions",status="200"/);
  });
});
