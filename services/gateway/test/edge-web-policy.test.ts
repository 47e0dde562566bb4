import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { ManualIdentity } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningGateway, startGateway } from '../src/index.js';
import type { GatewayRoutesConfig } from '../src/routes/route-schema.js';
import { AUDIENCE, client, ISSUER, startIssuer, startUpstream, testCertificate } from './harness.js';

const REPO_POLICIES = resolve(import.meta.dirname, '../../../policies');

let issuer: Awaited<ReturnType<typeof startIssuer>>;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let tls: ReturnType<typeof testCertificate>;
let http: ReturnType<typeof client>;

const routes = (upstreamUrl: string): GatewayRoutesConfig => ({
  upstreams: { videos: upstreamUrl },
  routes: [
    {
      method: 'GET',
      path: '/api/videos',
      service: 'videos',
      upstreamPath: '/videos',
      auth: 'required',
      scopes: ['videos:read'],
    },
    {
      method: 'DELETE',
      path: '/api/videos/:id',
      service: 'videos',
      upstreamPath: '/videos/:id',
      auth: 'required',
      scopes: ['videos:write'],
    },
    { method: 'GET', path: '/api/ping', service: 'videos', upstreamPath: '/ping', auth: 'public' },
  ],
});

const env = (home: string, extra: Record<string, string> = {}) => ({
  FLOTILLA_HOME: home,
  LOG_LEVEL: 'silent',
  AUTH_ISSUER: ISSUER,
  AUTH_AUDIENCE: AUDIENCE,
  AUTH_JWKS_URL: issuer.jwksUrl,
  TLS_PORT: '0',
  ...extra,
});

/** The error a start fails with (a start that succeeds is stopped and fails the test). */
async function startError(opts: Parameters<typeof startGateway>[0]): Promise<Error> {
  try {
    const gw = await startGateway(opts);
    await gw.stop();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the gateway started');
}

/** A request with its path sent exactly as written (no client-side dot-segment removal). */
function rawGet(url: string, path: string, ca: string) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: string }>((done, fail) => {
    const req = httpsRequest({ hostname, port, path, method: 'GET', ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  issuer = await startIssuer();
  upstream = await startUpstream();
  tls = testCertificate();
  http = client(tls.cert);
});

afterAll(async () => {
  await http?.agent.close();
  await Promise.all([issuer?.close(), upstream?.close()]);
  tls?.cleanup();
});

describe('Cedar policies at the edge', () => {
  let gw: RunningGateway;
  let home: string;
  let policyDir: string;
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'gw-cedar-'));
    policyDir = join(home, 'policies');
    cpSync(REPO_POLICIES, policyDir, { recursive: true });
    gw = await startGateway({
      routes: routes(upstream.url),
      tls: { cert: tls.cert, key: tls.key },
      env: env(home, { FLOTILLA_POLICY_DIR: policyDir }),
    });
  }, 20_000);
  afterAll(() => gw?.stop());

  it('lets a signed-in user list videos (gateway-users-api)', async () => {
    const token = await issuer.token({ sub: 'alice', roles: ['viewer'] });
    expect((await http.call(`${gw.url}/api/videos`, { headers: bearer(token) })).status).toBe(200);
  });

  it('denies a client-credentials token DELETE by policy even with the scope, and audits it', async () => {
    const token = await issuer.token({
      sub: 'ops-app',
      client_id: 'ops-app',
      gty: 'client_credentials',
      scope: 'videos:read videos:write',
    });
    const del = await http.call(`${gw.url}/api/videos/v1`, { method: 'DELETE', headers: bearer(token) });
    expect(del.status).toBe(403);
    expect(del.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(del.json()).toMatchObject({ code: 'FLT_POLICY_DENIED', detail: 'denied by policy' });
    // The same client may read (gateway-clients-read-videos).
    expect((await http.call(`${gw.url}/api/videos`, { headers: bearer(token) })).status).toBe(200);
    // The audit record is written off the response path: wait for it to settle.
    const denial = await vi.waitFor(
      () => {
        const found = readFileSync(join(home, 'audit', 'gateway.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { actor: string; reason?: string; details?: Record<string, unknown> })
          .find((r) => r.actor === 'client:ops-app');
        if (!found) throw new Error('no audit record for client:ops-app yet');
        return found;
      },
      { timeout: 5000, interval: 20 },
    );
    expect(denial?.reason).toMatch(/^policy:/);
    expect(denial?.details?.policies).toEqual([]);
    expect(denial?.details?.reasons).toEqual(['no policy permits it']);
  });

  it('keeps the scope check before the policy', async () => {
    const token = await issuer.token({ sub: 'alice', roles: ['viewer'], scope: 'videos:read' });
    const del = await http.call(`${gw.url}/api/videos/v1`, { method: 'DELETE', headers: bearer(token) });
    expect(del.status).toBe(403);
    expect(del.headers['www-authenticate']).toContain('insufficient_scope');
    expect(del.json().code).toBe('FLT_SCOPE_MISSING');
  });

  it('reloads a changed policy set, with role parents, and names the deciding forbid in the audit', async () => {
    const token = await issuer.token({ sub: 'bob', roles: ['suspended'] });
    expect((await http.call(`${gw.url}/api/videos`, { headers: bearer(token) })).status).toBe(200);
    writeFileSync(
      join(policyDir, 'zz-test.cedar'),
      '@id("test-no-suspended")\nforbid (principal in Role::"suspended", action, resource is Route);\n',
    );
    // The watcher reloads in its own time; a deadline only bounds a failing run.
    await expect
      .poll(async () => (await http.call(`${gw.url}/api/videos`, { headers: bearer(token) })).status, {
        timeout: 15_000,
        interval: 50,
      })
      .toBe(403);
    // The audit record is written off the response path: wait for it to settle.
    const auditFile = join(home, 'audit', 'gateway.jsonl');
    for (let i = 0; i < 100 && !readFileSync(auditFile, 'utf8').includes('test-no-suspended'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(auditFile, 'utf8')).toContain('"policies":["test-no-suspended"]');
    // Other users are unaffected.
    const alice = await issuer.token({ sub: 'alice', roles: ['viewer'] });
    expect((await http.call(`${gw.url}/api/videos`, { headers: bearer(alice) })).status).toBe(200);
  });

  it('refuses to start with a route whose action the schema does not declare, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-routes-'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(
      file,
      [
        'upstreams: { videos: http://127.0.0.1:9 }',
        'routes:',
        '  - { method: GET, path: /api/videos, service: videos, upstreamPath: /videos, auth: required, action: "video:Read" }',
        '  - { method: POST, path: /api/shares, service: videos, upstreamPath: /shares, auth: required, action: "video:Share" }',
        '',
      ].join('\n'),
    );
    const err = await startError({
      tls: { cert: tls.cert, key: tls.key },
      env: env(mkdtempSync(join(tmpdir(), 'gw-home-')), {
        FLOTILLA_POLICY_DIR: REPO_POLICIES,
        GATEWAY_ROUTES_FILE: file,
      }),
    });
    expect(err).toMatchObject({ code: 'FLT_CONFIG_INVALID' });
    expect(err.message).toBe(
      `${file}: /routes/1/action "video:Share" is not an action the policy schema declares for Route`,
    );
  });

  it('refuses to start when the policies do not load', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'gw-badpol-'));
    cpSync(REPO_POLICIES, bad, { recursive: true });
    writeFileSync(join(bad, 'broken.cedar'), 'permit (principal is Nobody, action, resource);\n');
    const err = await startError({
      routes: routes(upstream.url),
      tls: { cert: tls.cert, key: tls.key },
      env: env(mkdtempSync(join(tmpdir(), 'gw-home-')), { FLOTILLA_POLICY_DIR: bad }),
    });
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(/^FLOTILLA_POLICY_DIR: .*broken\.cedar:1/);
    expect(err?.message).not.toContain('\n');
  });
});

describe('edge certificate', () => {
  it('refuses to start with auth routes and neither certificate files nor an identity', async () => {
    const err = await startError({
      routes: routes(upstream.url),
      env: env(mkdtempSync(join(tmpdir(), 'gw-home-'))),
    });
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(/^TLS_CERT_FILE and TLS_KEY_FILE \(or a workload identity/);
  });

  it('serves the workload identity certificate without asking for a client one, and swaps it on renewal', async () => {
    const material = (c: { cert: string; key: string }) => ({
      key: c.key,
      cert: c.cert,
      ca: c.cert,
      spiffeId: 'spiffe://flotilla.local/service/gateway',
      serial: '01',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
    });
    const second = testCertificate();
    const identity = new ManualIdentity('flotilla.local', material(tls));
    const gw = await startGateway({
      routes: routes(upstream.url),
      identity,
      env: env(mkdtempSync(join(tmpdir(), 'gw-home-')), { FLOTILLA_POLICY_DIR: REPO_POLICIES }),
    });
    try {
      const port = Number(new URL(gw.url).port);
      expect(gw.url).toBe(`https://127.0.0.1:${port}`);
      const peerCert = (ca: string) =>
        new Promise<string>((done, fail) => {
          // No client certificate offered: the handshake must still succeed.
          const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
            const fp = socket.getPeerCertificate().fingerprint256;
            socket.end();
            done(fp);
          });
          socket.on('error', fail);
        });
      const before = await peerCert(tls.cert);
      expect((await http.call(`${gw.url}/api/ping`)).status).toBe(200);
      identity.update(material(second));
      const after = await peerCert(second.cert);
      expect(after).not.toBe(before);
    } finally {
      await gw.stop();
      second.cleanup();
    }
  });
});

describe('web app', () => {
  let gw: RunningGateway;
  let web: string;
  const webConfig = { issuer: ISSUER, clientId: 'flixtube-web', scope: 'openid videos:read' };

  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'gw-web-'));
    web = join(base, 'dist');
    mkdirSync(join(web, 'assets'), { recursive: true });
    mkdirSync(join(web, 'api'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>FlixTube</title>');
    writeFileSync(join(web, 'assets', 'index-OD8szqeX.js'), 'console.log(1)');
    writeFileSync(join(web, 'api', 'ping'), 'not the API');
    writeFileSync(join(web, '.env'), 'SECRET=dotfile');
    writeFileSync(join(base, 'secret.txt'), 'top secret');
    gw = await startGateway({
      routes: routes(upstream.url),
      tls: { cert: tls.cert, key: tls.key },
      env: env(base, {
        FLOTILLA_POLICY_DIR: REPO_POLICIES,
        GATEWAY_WEB_DIR: web,
        GATEWAY_WEB_CONFIG: JSON.stringify(webConfig),
      }),
    });
  }, 20_000);
  afterAll(() => gw?.stop());

  it('serves index.html at / with the strict CSP and no-cache', async () => {
    const res = await http.call(`${gw.url}/`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>FlixTube</title>');
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self'; " +
        "connect-src 'self' https://auth.test; form-action 'self' https://auth.test; " +
        "base-uri 'none'; frame-ancestors 'none'",
    );
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=/);
  });

  it('caches hashed assets for long', async () => {
    const res = await http.call(`${gw.url}/assets/index-OD8szqeX.js`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('console.log(1)');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBeUndefined();
  });

  it('answers /config.json from GATEWAY_WEB_CONFIG', async () => {
    const res = await http.call(`${gw.url}/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(webConfig);
  });

  it('never escapes the folder, nor serves dotfiles', async () => {
    for (const path of [
      '/../secret.txt',
      '/../../etc/passwd',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%252e%252e/secret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/.env',
    ]) {
      const res = await rawGet(gw.url, path, tls.cert);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.body, path).not.toContain('top secret');
      expect(res.body, path).not.toContain('root:');
      expect(res.body, path).not.toContain('SECRET=');
    }
  });

  it('lets API routes win over files, and 404s what neither has', async () => {
    const res = await http.call(`${gw.url}/api/ping`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ url: '/ping' });
    expect((await http.call(`${gw.url}/nothing-here.js`)).status).toBe(404);
    expect((await http.call(`${gw.url}/`, { method: 'POST' })).status).toBe(404);
  });

  it('refuses GATEWAY_WEB_CONFIG that is not a JSON object', async () => {
    const err = await startError({
      routes: routes(upstream.url),
      tls: { cert: tls.cert, key: tls.key },
      env: env(mkdtempSync(join(tmpdir(), 'gw-home-')), {
        FLOTILLA_POLICY_DIR: REPO_POLICIES,
        GATEWAY_WEB_DIR: web,
        GATEWAY_WEB_CONFIG: '{issuer:',
      }),
    });
    expect(err?.message).toMatch(/^GATEWAY_WEB_CONFIG is not valid JSON/);
  });
});
