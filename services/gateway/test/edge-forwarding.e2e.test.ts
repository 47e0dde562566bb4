// The gateway end to end on sockets, part 2: CORS, the edge's limits and path handling,
// and forwarding to the upstream and back.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningGateway } from '../src/index.js';
import { type E2eGateway, startE2eGateway } from './e2e-gateway.js';

let e: E2eGateway;
let gw: RunningGateway;
let http: E2eGateway['http'];
let issuer: E2eGateway['issuer'];
let upstream: E2eGateway['upstream'];

beforeAll(async () => {
  e = await startE2eGateway();
  ({ gw, http, issuer, upstream } = e);
}, 30_000);

afterAll(() => e?.close());

const get: E2eGateway['get'] = (...args) => e.get(...args);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

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
    const lines = e.logs
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

  it('passes Range up and 206, Content-Range, Accept-Ranges and 416 down (video streams seek)', async () => {
    const part = await get('/public/range?token=t0k', { range: 'bytes=2-5' });
    expect(upstream.seen.at(-1)?.headers.range).toBe('bytes=2-5');
    expect(upstream.seen.at(-1)?.url).toBe('/pub/range?token=t0k');
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe('bytes 2-5/10');
    expect(part.headers['accept-ranges']).toBe('bytes');
    expect(part.headers['content-length']).toBe('4');
    expect(part.text).toBe('2345');
    const head = await get('/public/range', { range: 'bytes=0-0' }, 'HEAD');
    expect(head.status).toBe(206);
    expect(head.headers['content-range']).toBe('bytes 0-0/10');
    const beyond = await get('/public/range', { range: 'bytes=10-19' });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe('bytes */10');
  });

  it.each([
    ['/api/down', 503, 'FLT_UNAVAILABLE'],
    ['/api/slow', 504, 'FLT_UPSTREAM_TIMEOUT'],
    ['/api/broken', 502, 'FLT_UPSTREAM_FAILED'],
  ])('upstream failure %s → %i', async (path, status, code) => {
    const res = await get(path, bearer(await issuer.token()));
    expect(res.status).toBe(status);
    expect(res.json()).toMatchObject({ code });
    expect(res.json().detail).toBeUndefined(); // 5xx bodies are generic
  });

  it('unknown route → 404, wrong method → 405', async () => {
    expect((await get('/nope')).status).toBe(404);
    const res = await get('/api/videos/1', {}, 'DELETE');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});
