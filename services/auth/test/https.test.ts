import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualIdentity } from '@flotilla/kit';
import { TestCa } from '@flotilla/testing';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAuth, startAuth } from '../src/index.js';
import { browserLogin, PASSWORD, TEST_ENV } from './helpers.js';

const API = 'https://localhost:8443/api';
const SPA_REDIRECT = 'https://localhost:8443/';
const SECRET = 'ops-secret-0123456789abcdef';
const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');

/**
 * Auth as `flotilla up` runs it: the kit serves HTTPS with a workload certificate (client
 * certificates optional, so browsers reach it), no proxy and no dev relaxation.
 */
describe('auth over the kit’s TLS (workload identity, no proxy)', () => {
  let home: string;
  let auth: RunningAuth;
  let agent: Agent;
  let tlsFetch: typeof fetch;
  let ca: TestCa;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-auth-tls-'));
    ca = await TestCa.create();
    const identity = new ManualIdentity(ca.trustDomain, await ca.issue('auth'));
    agent = new Agent({ connect: { ca: ca.bundle } });
    tlsFetch = ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
    const { AUTH_DEV_INSECURE_HTTP: _insecure, ...env } = TEST_ENV;
    auth = await startAuth({
      identity,
      inMemoryDb: true,
      env: {
        ...env,
        FLOTILLA_HOME: home,
        FLOTILLA_CLIENT_CERT: 'optional',
        FLOTILLA_POLICY_DIR: POLICY_DIR,
        FLOTILLA_ALLOWED_CALLS: '{}',
      },
      resources: [{ indicator: API, scopes: ['videos:read', 'videos:write'] }],
      clients: [
        {
          client_id: 'flixtube-web',
          type: 'spa',
          redirect_uris: [SPA_REDIRECT],
          post_logout_redirect_uris: [SPA_REDIRECT],
          resources: [API],
        },
        {
          client_id: 'flixtube-ops',
          type: 'confidential',
          client_secret: SECRET,
          scope: 'videos:read',
          resources: [API],
        },
      ],
      users: [{ username: 'alice', password: PASSWORD, roles: ['viewer'] }],
    });
  });
  afterAll(async () => {
    await auth?.stop();
    await agent?.close();
    await rm(home, { recursive: true, force: true });
  });

  const discover = (clientId: string, secret?: string) => {
    const opts = { [oidc.customFetch]: tlsFetch } as oidc.DiscoveryRequestOptions;
    return oidc.discovery(
      new URL(auth.issuerUrl),
      clientId,
      secret ? { client_secret: secret } : { token_endpoint_auth_method: 'none' },
      secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
      opts,
    );
  };

  it('serves https and derives an https issuer and endpoints', async () => {
    expect(auth.url).toMatch(/^https:\/\//);
    expect(auth.issuerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const config = await discover('flixtube-ops', SECRET);
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(auth.issuerUrl);
    for (const endpoint of [meta.token_endpoint, meta.jwks_uri, meta.authorization_endpoint]) {
      expect(endpoint).toMatch(new RegExp(`^${auth.issuerUrl}/`));
    }
  });

  it('issues client-credentials tokens over https, verifiable with the JWKS fetched over https', async () => {
    const config = await discover('flixtube-ops', SECRET);
    config[oidc.customFetch] = tlsFetch;
    const tokens = await oidc.clientCredentialsGrant(config, { resource: API });
    const jwks = createLocalJWKSet(
      (await (await tlsFetch(`${auth.issuerUrl}/jwks`)).json()) as JSONWebKeySet,
    );
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: auth.issuerUrl, audience: API });
    expect(payload).toMatchObject({ sub: 'flixtube-ops', scope: 'videos:read' });
  });

  it('signs a user in over https with Secure cookies, and the access token says amr', async () => {
    const config = await discover('flixtube-web');
    config[oidc.customFetch] = tlsFetch;
    const login = await browserLogin(config, auth, {
      fetch: tlsFetch,
      params: { redirect_uri: SPA_REDIRECT, scope: 'openid profile roles videos:read', resource: API },
    });
    expect(login.callbackUrl.searchParams.get('code')).toBeTruthy();
    expect(login.browser.setCookies.length).toBeGreaterThan(0);
    for (const cookie of login.browser.setCookies) {
      expect(cookie.toLowerCase(), cookie.split('=')[0]).toMatch(/;\s*secure/);
      expect(cookie.toLowerCase()).toMatch(/;\s*httponly/);
    }
    const tokens = await oidc.authorizationCodeGrant(
      config,
      login.callbackUrl,
      { pkceCodeVerifier: login.verifier, expectedState: login.state },
      { resource: API },
    );
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: auth.issuerUrl,
      aud: API,
      amr: ['pwd'],
      roles: ['viewer'],
    });
  });

  it('serves revocation events only to a service the policies permit (the gateway), over mTLS', async () => {
    const events = `${auth.url}/v1/revocations/events`;
    const as = async (service?: string) => {
      const material = service ? await ca.issue(service) : undefined;
      const client = new Agent({
        connect: { ca: ca.bundle, ...(material ? { cert: material.cert, key: material.key } : {}) },
      });
      try {
        const res = await undiciFetch(events, {
          dispatcher: client,
          headers: { accept: 'text/event-stream' },
        });
        const type = res.headers.get('content-type');
        await res.body?.cancel();
        return { status: res.status, type };
      } finally {
        await client.destroy();
      }
    };
    expect(await as()).toMatchObject({
      status: 401,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(await as('history')).toMatchObject({
      status: 403,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(await as('gateway')).toEqual({ status: 200, type: 'text/event-stream' });
  });

  it('refuses plain HTTP on the TLS port', async () => {
    const port = new URL(auth.url).port;
    await expect(fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).rejects.toThrow();
  });
});
