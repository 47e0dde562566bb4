import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InProcessRevocations } from '@flotilla/kit/contracts';
import { type PolicyDecider, type RunningGateway, startGateway } from '../src/index.js';
import type { GatewayRoutesConfig } from '../src/routes/route-schema.js';
import {
  AUDIENCE,
  client,
  ISSUER,
  listen,
  logSink,
  startIssuer,
  startUpstream,
  testCertificate,
} from './harness.js';

const cors = {
  origins: ['https://app.example'],
  methods: ['GET' as const, 'POST' as const],
  headers: ['authorization', 'content-type'],
  credentials: true,
  maxAge: 600,
};

let issuer: Awaited<ReturnType<typeof startIssuer>>;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let gw: RunningGateway;
let http: ReturnType<typeof client>;
let tls: ReturnType<typeof testCertificate>;
const bus = new InProcessRevocations();
const logs = logSink();
const home = mkdtempSync(join(tmpdir(), 'gw-home-'));
let deadPort: number;

// Policy stand-in: only admins may perform `admin`; everything else needs its scopes.
const policy: PolicyDecider = {
  decide: ({ action, principal, context }) =>
    action === 'admin' && !principal?.roles.includes('admin')
      ? { decision: 'deny', reasons: ['admin role required'] }
      : context.requiredScopes.every((s) => context.scopes.includes(s))
        ? { decision: 'allow', reasons: [] }
        : { decision: 'deny', reasons: ['scope'] },
};

beforeAll(async () => {
  issuer = await startIssuer();
  upstream = await startUpstream();
  tls = testCertificate();
  const dead = await listen(() => undefined);
  deadPort = dead.port;
  await dead.close();
  const routes: GatewayRoutesConfig = {
    upstreams: { videos: upstream.url, auth: upstream.url, down: `http://127.0.0.1:${deadPort}` },
    throttle: {
      policies: {
        tight: { points: 2, duration: 60 },
        'auth-endpoint': { points: 3, duration: 60, key: 'ip' },
      },
      user: { points: 1000, duration: 60 },
    },
    routes: [
      {
        method: 'GET',
        path: '/api/videos/:id',
        service: 'videos',
        upstreamPath: '/videos/:id',
        auth: 'required',
        scopes: ['videos:read'],
        cors,
      },
      {
        method: 'POST',
        path: '/api/videos',
        service: 'videos',
        upstreamPath: '/videos',
        auth: 'required',
        scopes: ['videos:write'],
        cors,
      },
      {
        method: 'GET',
        path: '/api/admin',
        service: 'videos',
        upstreamPath: '/admin',
        auth: 'required',
        action: 'admin',
      },
      {
        method: 'GET',
        path: '/api/limited',
        service: 'videos',
        upstreamPath: '/limited',
        auth: 'required',
        throttle: 'tight',
      },
      {
        method: 'POST',
        path: '/oauth/token',
        service: 'auth',
        upstreamPath: '/token',
        auth: 'public',
        throttle: 'auth-endpoint',
      },
      { method: 'GET', path: '/api/slow', service: 'videos', upstreamPath: '/slow', auth: 'required' },
      { method: 'GET', path: '/api/broken', service: 'videos', upstreamPath: '/broken', auth: 'required' },
      { method: 'GET', path: '/api/down', service: 'down', upstreamPath: '/x', auth: 'required' },
      { method: 'GET', path: '/public/*', service: 'videos', upstreamPath: '/pub/*', auth: 'public' },
    ],
  };
  gw = await startGateway({
    routes,
    policy,
    revocations: bus.subscriber(),
    tls: { cert: tls.cert, key: tls.key },
    logStream: logs.stream,
    env: {
      FLOTILLA_HOME: home,
      LOG_LEVEL: 'info',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: issuer.jwksUrl,
      BODY_LIMIT: '1024',
      UPSTREAM_TIMEOUT_MS: '400',
      TLS_PORT: '0',
      HTTP_REDIRECT_PORT: '0',
      MAX_HEADER_BYTES: '4096',
    },
  });
  http = client(tls.cert);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  await http?.agent.close();
  await Promise.all([issuer?.close(), upstream?.close()]);
  tls?.cleanup();
});

const get = async (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
  http.call(`${gw.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('bad tokens → 401', () => {
  const cases: Array<[string, () => Promise<Record<string, string>>, RegExp]> = [
    ['no token', async () => ({}), /^Bearer realm="flotilla"$/],
    ['not a bearer scheme', async () => ({ authorization: 'Basic dTpw' }), /^Bearer realm="flotilla"$/],
    ['malformed token', async () => bearer('not-a-jwt'), /invalid_token/],
    ['malformed JWT', async () => bearer('eyJhbGciOi.eyJzdWIi.sig'), /malformed token/],
    [
      'alg none',
      async () =>
        bearer(
          `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'u', client_id: 'c', jti: 'j', iat: now(), exp: now() + 60 })}.`,
        ),
      /algorithm not allowed|malformed/,
    ],
    [
      'HS256 signed with the public key as secret',
      async () => {
        const pem = await exportSPKI(issuer.publicKey);
        const t = await new SignJWT({
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'u',
          client_id: 'c',
          jti: 'j',
          iat: now(),
          exp: now() + 60,
        })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
          .sign(new TextEncoder().encode(pem));
        return bearer(t);
      },
      /algorithm not allowed/,
    ],
    [
      'unknown kid',
      async () => {
        const other = await generateKeyPair('ES256');
        return bearer(await issuer.token({}, { kid: 'k-unknown' }, other.privateKey));
      },
      /unknown signing key/,
    ],
    [
      'known kid, wrong key',
      async () => bearer(await issuer.token({}, {}, (await generateKeyPair('ES256')).privateKey)),
      /signature verification failed/,
    ],
    [
      'expired',
      async () => bearer(await issuer.token({ iat: now() - 600, exp: now() - 60 })),
      /token expired/,
    ],
    ['not yet valid', async () => bearer(await issuer.token({ nbf: now() + 60 })), /nbf claim check failed/],
    [
      'wrong issuer',
      async () => bearer(await issuer.token({ iss: 'https://evil.test' })),
      /iss claim check failed/,
    ],
    [
      'wrong audience',
      async () => bearer(await issuer.token({ aud: 'https://other.test' })),
      /aud claim check failed/,
    ],
    ['wrong typ', async () => bearer(await issuer.token({}, { typ: 'JWT' })), /typ claim check failed/],
    ['no jti', async () => bearer(await issuer.token({ jti: undefined })), /jti claim check failed/],
    [
      'no client_id',
      async () => bearer(await issuer.token({ client_id: undefined })),
      /client_id claim check failed/,
    ],
  ];
  // No credentials: FLT_UNAUTHENTICATED; a refused token: the access-token contract's code.
  const codeOf = (name: string) =>
    name === 'no token' || name === 'not a bearer scheme'
      ? 'FLT_UNAUTHENTICATED'
      : name === 'expired'
        ? 'FLT_TOKEN_EXPIRED'
        : 'FLT_TOKEN_INVALID';
  it.each(cases)('%s', async (name, headers, challenge) => {
    const res = await get('/api/videos/1', await headers());
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(challenge);
    expect(res.json()).toMatchObject({ code: codeOf(name), status: 401 });
  });

  it('accepts typ application/at+jwt (RFC 9068 §4)', async () => {
    expect(
      (await get('/api/videos/1', bearer(await issuer.token({}, { typ: 'application/at+jwt' })))).status,
    ).toBe(200);
  });

  it('refuses a token in the query string', async () => {
    const res = await get(`/api/videos/1?access_token=${await issuer.token()}`);
    expect(res.status).toBe(400);
  });

  it('denies a revoked token, grant, user and client within 1 s of the event, even when cached', async () => {
    const cases = [
      { claims: { jti: 'jti-revoked' }, event: { type: 'token' as const, jti: 'jti-revoked' } },
      { claims: { grant_id: 'g-1' }, event: { type: 'grant' as const, grantId: 'g-1' } },
      { claims: { sub: 'user-disabled' }, event: { type: 'user' as const, sub: 'user-disabled' } },
      { claims: { client_id: 'app-disabled' }, event: { type: 'client' as const, clientId: 'app-disabled' } },
    ];
    for (const { claims, event } of cases) {
      const t = await issuer.token(claims);
      expect((await get('/api/videos/1', bearer(t))).status).toBe(200); // now cached
      const start = Date.now();
      await bus.publish({ ...event, at: now() });
      const res = await get('/api/videos/1', bearer(t));
      expect(Date.now() - start).toBeLessThan(1000);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/invalid_token/);
      expect(res.json()).toMatchObject({ code: 'FLT_TOKEN_REVOKED' });
    }
    // A user disabled then re-enabled gets new tokens: only those issued before the event are denied.
    expect(
      (await get('/api/videos/1', bearer(await issuer.token({ sub: 'user-disabled', iat: now() + 2 }))))
        .status,
    ).toBe(200);
  });
});

describe('authorization → 403', () => {
  it('missing scope: insufficient_scope naming the scope', async () => {
    const res = await get('/api/videos/1', bearer(await issuer.token({ scope: 'other' })));
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="flotilla", error="insufficient_scope", scope="videos:read"',
    );
  });

  it('policy deny', async () => {
    expect((await get('/api/admin', bearer(await issuer.token()))).status).toBe(403);
    expect((await get('/api/admin', bearer(await issuer.token({ roles: ['admin'] })))).status).toBe(200);
  });
});

describe('throttling → 429', () => {
  it('per-operation limit, with RateLimit headers on success and refusal', async () => {
    const t = await issuer.token({ sub: 'throttled-user' });
    const first = await get('/api/limited', bearer(t));
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"user";q=1000;w=60, "tight";q=2;w=60');
    expect(first.headers.ratelimit).toMatch(/^"user";r=999;t=\d+, "tight";r=1;t=\d+$/);
    expect((await get('/api/limited', bearer(t))).status).toBe(200);
    const refused = await get('/api/limited', bearer(t));
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers.ratelimit).toMatch(/"tight";r=0;t=\d+/);
    // Another user has their own counter.
    expect((await get('/api/limited', bearer(await issuer.token({ sub: 'someone-else' })))).status).toBe(200);
  });

  it('login/token endpoint by source IP, before any authentication', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (
          await get(
            '/oauth/token',
            { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic d2ViOnNlY3JldA==' },
            'POST',
            'grant_type=client_credentials',
          )
        ).status,
      );
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Public route: the client's own credentials reach the auth server untouched.
    expect(upstream.seen.at(-1)?.headers.authorization).toBe('Basic d2ViOnNlY3JldA==');
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    get(
      '/api/videos/1',
      { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      'OPTIONS',
    );

  it('answers a preflight from an allowed origin with 204', async () => {
    const res = await preflight('https://app.example');
    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });

  it('refuses a preflight from another origin with 403 and no CORS headers', async () => {
    const res = await preflight('https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers.vary).toBe('Origin');
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('adds CORS headers to an actual response only for an allowed origin (and drops the upstream’s)', async () => {
    const t = bearer(await issuer.token());
    const ok = await get('/api/videos/1', { ...t, origin: 'https://app.example' });
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    const evil = await get('/api/videos/1', { ...t, origin: 'https://evil.example' });
    expect(evil.status).toBe(200);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('edge', () => {
  it('refuses an oversized body with 413, declared or chunked', async () => {
    const t = bearer(await issuer.token({ scope: 'videos:write' }));
    expect(
      (await get('/api/videos', { ...t, 'content-type': 'application/json' }, 'POST', 'x'.repeat(2000)))
        .status,
    ).toBe(413);
    const chunked = await http.agent.request({
      origin: gw.url,
      path: '/api/videos',
      method: 'POST',
      headers: { ...t, 'content-type': 'application/octet-stream' },
      body: Readable.from([0, 1, 2, 3].map(() => Buffer.alloc(512, 1))),
    });
    await chunked.body.text();
    expect(chunked.statusCode).toBe(413);
    const small = await get(
      '/api/videos',
      { ...t, 'content-type': 'application/json' },
      'POST',
      '{"title":"ok"}',
    );
    expect(small.status).toBe(200);
    expect(small.json()).toMatchObject({ method: 'POST', url: '/videos', bytes: 14 });
  });

  it.each([
    ['/api/videos/%2e%2e/videos/7', 200, '/videos/7'],
    ['/api//videos///7', 200, '/videos/7'],
    ['/api/./videos/7/', 200, '/videos/7'],
    ['/api/videos/a%20b', 200, '/videos/a%20b'],
    ['/api/videos/..%2f..%2fadmin', 400, undefined],
    ['/api/videos/%252e%252e', 400, undefined],
    ['/../../etc/passwd', 400, undefined],
    ['/api/videos/..\\..\\admin', 400, undefined],
    ['/api/videos/7/../../admin', 200, '/admin'],
  ])('traversal %s → %i', async (path, status, upstreamUrl) => {
    const before = upstream.seen.length;
    const res = await http.agent.request({
      origin: gw.url,
      path,
      method: 'GET',
      headers: bearer(await issuer.token({ roles: ['admin'] })),
    });
    await res.body.text();
    expect(res.statusCode).toBe(status);
    if (upstreamUrl) expect(upstream.seen.at(-1)?.url).toBe(upstreamUrl);
    else expect(upstream.seen.length).toBe(before);
  });

  it('sets HSTS and, on its own responses, the other security headers', async () => {
    const res = await get('/api/videos/1');
    expect(res.headers).toMatchObject({
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const ok = await get('/api/videos/1', bearer(await issuer.token()));
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('redirects plain HTTP to HTTPS with 308', async () => {
    for (const base of [gw.redirectUrl!, gw.httpUrl]) {
      const res = await fetch(`${base}/api/videos/1?x=1`, { redirect: 'manual' });
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe(`${gw.url}/api/videos/1?x=1`);
    }
    // Health stays on the plain listener.
    expect((await fetch(`${gw.httpUrl}/livez`)).status).toBe(200);
  });

  it('refuses oversized headers (431)', async () => {
    expect((await get('/api/videos/1', { 'x-big': 'x'.repeat(8000) })).status).toBe(431);
  });
});

describe('forwarding', () => {
  it('strips identity and hop-by-hop headers, forwards the token, trace, request id and Forwarded', async () => {
    const token = await issuer.token();
    const res = await get('/api/videos/9?q=1', {
      ...bearer(token),
      'x-flotilla-caller': 'spiffe://flotilla.local/svc/admin',
      'x-user-id': 'admin',
      'x-forwarded-user': 'admin',
      'x-forwarded-for': '10.0.0.1',
      forwarded: 'for=10.0.0.1',
      te: 'trailers',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(res.status).toBe(200);
    const seen = upstream.seen.at(-1)!;
    expect(seen.url).toBe('/videos/9?q=1');
    expect(seen.headers.authorization).toBe(`Bearer ${token}`);
    for (const h of ['x-flotilla-caller', 'x-user-id', 'x-forwarded-user', 'x-forwarded-for', 'te'])
      expect(seen.headers[h]).toBeUndefined();
    expect(seen.headers.forwarded).toBe(
      'for=127.0.0.1;proto=https;host="127.0.0.1:' + new URL(gw.url).port + '"',
    );
    expect(seen.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(seen.headers['x-request-id']).toBe(res.headers['x-request-id']);
    // Upstream hop-by-hop and CORS headers do not reach the client.
    expect(res.headers['x-hop']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers and logs each request in its own trace, also over a pooled upstream connection', async () => {
    // The upstream's answer arrives on a connection an earlier request opened: the reply, its
    // problem+json and its log lines must still carry this request's ids.
    const token = await issuer.token();
    const trace = (i: number) => `${String(i).padStart(4, '0')}651916cd43dd8448eb211c80319c`;
    for (let i = 1; i <= 3; i++) {
      const ok = await get('/api/videos/7', {
        ...bearer(token),
        traceparent: `00-${trace(i)}-b7ad6b7169203331-01`,
        'x-request-id': `pooled-ok-${i}`,
      });
      expect(ok.status).toBe(200);
      const broken = await get('/api/broken', {
        ...bearer(token),
        traceparent: `00-${trace(100 + i)}-b7ad6b7169203331-01`,
        'x-request-id': `pooled-broken-${i}`,
      });
      expect(broken.status).toBe(502);
      expect(broken.json()).toMatchObject({ requestId: `pooled-broken-${i}`, traceId: trace(100 + i) });
    }
    await new Promise((r) => setTimeout(r, 50));
    const lines = logs
      .text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { requestId?: string; traceId?: string; msg?: string });
    for (let i = 1; i <= 3; i++) {
      const ok = lines.filter((l) => l.requestId === `pooled-ok-${i}`);
      expect(ok.map((l) => l.msg)).toContain('gateway access');
      for (const l of ok) expect(l.traceId).toBe(trace(i));
      const broken = lines.filter((l) => l.requestId === `pooled-broken-${i}`);
      expect(broken.map((l) => l.msg)).toEqual(expect.arrayContaining(['request failed', 'gateway access']));
      for (const l of broken) expect(l.traceId).toBe(trace(100 + i));
    }
  });

  it('stops the upstream call when the client leaves first (no upstream timeout recorded)', async () => {
    const timeouts = async () => {
      const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
      const m = /gateway_upstream_duration_seconds_count\{[^}]*outcome="timeout"[^}]*\} (\d+)/.exec(text);
      return Number(m?.[1] ?? 0);
    };
    const before = await timeouts();
    const leave = new AbortController();
    const pending = http.call(`${gw.url}/api/slow?client=leaves`, {
      headers: bearer(await issuer.token()),
      signal: leave.signal,
    });
    pending.catch(() => undefined);
    await vi.waitFor(
      () => {
        if (!upstream.seen.some((s) => s.url === '/slow?client=leaves')) throw new Error('not yet upstream');
      },
      { timeout: 2000, interval: 5 },
    );
    leave.abort();
    await expect(pending).rejects.toThrow();
    // Well past UPSTREAM_TIMEOUT_MS (400; undici's timers are coarse): a call still running
    // would have timed out by now.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await timeouts()).toBe(before);
  });

  it('public route with a rest path', async () => {
    const res = await get('/public/a/b%20c');
    expect(res.status).toBe(200);
    expect(upstream.seen.at(-1)?.url).toBe('/pub/a/b%20c');
  });

  it.each([
    ['/api/down', 503, 'FLT_UNAVAILABLE'],
    ['/api/slow', 504, 'FLT_UPSTREAM_TIMEOUT'],
    ['/api/broken', 502, 'FLT_UPSTREAM_FAILED'],
  ])('upstream failure %s → %i', async (path, status, code) => {
    const started = Date.now();
    const res = await get(path, bearer(await issuer.token()));
    expect(res.status).toBe(status);
    expect(res.json()).toMatchObject({ code });
    expect(res.json().detail).toBeUndefined(); // 5xx bodies are generic
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('unknown route → 404, wrong method → 405', async () => {
    expect((await get('/nope')).status).toBe(404);
    const res = await get('/api/videos/1', {}, 'DELETE');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});

describe('observability', () => {
  it('never logs tokens or cookies; counts decisions; audits denials without the token', async () => {
    const token = await issuer.token({ scope: 'nothing' });
    await get('/api/videos/1', { ...bearer(token), cookie: 'session=s3cr3t' });
    await get(`/public/x?access_token=${token}`);
    await new Promise((r) => setTimeout(r, 100));
    const text = logs.text();
    expect(text).toContain('gateway access');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain('s3cr3t');
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /gateway_requests_total\{[^}]*route="GET \/api\/videos\/:id"[^}]*decision="insufficient-scope"/,
    );
    expect(metrics).toMatch(/gateway_throttled_total\{[^}]*policy="tight"/);
    // The audit records are written off the response path: wait for them to settle.
    const audit = await vi.waitFor(
      () => {
        const text = readFileSync(join(home, 'audit', 'gateway.jsonl'), 'utf8');
        if (!text.includes('"action":"gateway.throttle"') || !text.includes('insufficient-scope'))
          throw new Error('audit records not written yet');
        return text;
      },
      { timeout: 5000, interval: 20 },
    );
    expect(audit).toContain('"action":"gateway.deny"');
    expect(audit).toContain('"action":"gateway.throttle"');
    expect(audit).toContain('insufficient-scope');
    expect(audit).not.toContain(token.split('.')[2]);
  });
});
