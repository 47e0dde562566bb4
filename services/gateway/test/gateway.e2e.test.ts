// The gateway end to end on sockets, part 1: who gets in — tokens, scopes and policy,
// throttling — and what the logs, metrics and audit trail say about it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningGateway } from '../src/index.js';
import { type E2eGateway, startE2eGateway } from './e2e-gateway.js';
import { AUDIENCE, ISSUER } from './harness.js';

let e: E2eGateway;
let gw: RunningGateway;
let issuer: E2eGateway['issuer'];
let upstream: E2eGateway['upstream'];

beforeAll(async () => {
  e = await startE2eGateway();
  ({ gw, issuer, upstream } = e);
}, 30_000);

afterAll(() => e?.close());

const get: E2eGateway['get'] = (...args) => e.get(...args);
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

  it('denies a revoked token, grant, user and client from the next request after the event, even when cached', async () => {
    const cases = [
      { claims: { jti: 'jti-revoked' }, event: { type: 'token' as const, jti: 'jti-revoked' } },
      { claims: { grant_id: 'g-1' }, event: { type: 'grant' as const, grantId: 'g-1' } },
      { claims: { sub: 'user-disabled' }, event: { type: 'user' as const, sub: 'user-disabled' } },
      { claims: { client_id: 'app-disabled' }, event: { type: 'client' as const, clientId: 'app-disabled' } },
    ];
    for (const { claims, event } of cases) {
      const t = await issuer.token(claims);
      expect((await get('/api/videos/1', bearer(t))).status).toBe(200); // now cached
      await e.bus.publish({ ...event, at: Math.floor(Date.now() / 1000) });
      const res = await get('/api/videos/1', bearer(t));
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
    expect(res.json()).toMatchObject({ code: 'FLT_SCOPE_MISSING', status: 403 });
  });

  it('policy deny', async () => {
    const denied = await get('/api/admin', bearer(await issuer.token()));
    expect(denied.status).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'FLT_POLICY_DENIED', detail: 'denied by policy' });
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

describe('observability', () => {
  it('never logs tokens or cookies; counts decisions; audits denials without the token', async () => {
    const token = await issuer.token({ scope: 'nothing' });
    await get('/api/videos/1', { ...bearer(token), cookie: 'session=s3cr3t' });
    await get(`/public/x?access_token=${token}`);
    await new Promise((r) => setTimeout(r, 100));
    const text = e.logs.text();
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
        const text = readFileSync(join(e.home, 'audit', 'gateway.jsonl'), 'utf8');
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
