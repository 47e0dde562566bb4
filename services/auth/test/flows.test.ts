import { execFileSync } from 'node:child_process';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REVOCATION_EVENTS_PATH,
  type RevocationEvent,
  SseRevocationSubscriber,
} from '@flotilla/kit/contracts';
import {
  API,
  browserLogin,
  discover,
  OTHER_API,
  SECRETS,
  SPA_REDIRECT,
  startTestAuth,
  readAudit,
} from './helpers.js';

type Auth = Awaited<ReturnType<typeof startTestAuth>>;
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

async function auditLines(auth: Auth): Promise<{ action: string; outcome: string; reason?: string }[]> {
  const text = await readAudit(auth.home);
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { action: string; outcome: string; reason?: string });
}

async function oauthError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { error?: string }).error ?? String(err);
  }
  throw new Error('expected an OAuth error');
}

async function spaTokens(auth: Auth) {
  const config = await discover(auth, 'spa');
  const { callbackUrl, verifier, state } = await browserLogin(config, auth);
  const tokens = await oidc.authorizationCodeGrant(
    config,
    callbackUrl,
    { pkceCodeVerifier: verifier, expectedState: state },
    { resource: API },
  );
  return { config, tokens };
}

describe('auth flows with openid-client', () => {
  let auth: Auth;
  const events: RevocationEvent[] = [];
  let sub: SseRevocationSubscriber | undefined;
  beforeAll(async () => {
    auth = await startTestAuth();
    sub = new SseRevocationSubscriber({ url: `${auth.url}${REVOCATION_EVENTS_PATH}` });
    await sub.start((e) => events.push(e));
  });
  afterAll(async () => {
    await sub?.close();
    await auth?.stop();
  });

  it('publishes discovery with our endpoints', async () => {
    const config = await discover(auth, 'spa');
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(auth.issuerUrl);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.introspection_endpoint).toBeDefined();
    expect(meta.revocation_endpoint).toBeDefined();
    expect(meta.grant_types_supported).toContain(EXCHANGE);
  });

  it('runs authorization code + PKCE through the login form, with a JWT access token', async () => {
    const { tokens } = await spaTokens(auth);
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ aud: API, client_id: 'spa', roles: ['viewer'], iss: auth.issuerUrl });
    // RFC 9068 §2.2.1: the access token says how the user signed in, like the ID token.
    expect(at.amr).toEqual(['pwd']);
    expect(at.exp! - at.iat!).toBe(300);
    expect(at.grant_id).toBeTruthy();
    expect(tokens.claims()!.amr).toEqual(['pwd']);
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('serves login pages with a strict CSP, CSRF token and no inline script', async () => {
    const config = await discover(auth, 'spa');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: SPA_REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const first = await fetch(url, { redirect: 'manual' });
    const cookies = first.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) expect(c.toLowerCase()).toMatch(/httponly/);
    for (const c of cookies) expect(c.toLowerCase()).toMatch(/samesite=lax/);
    const page = await fetch(new URL(first.headers.get('location')!, auth.url), {
      headers: { cookie: cookies.map((c) => c.split(';')[0]).join('; ') },
    });
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/<script|style=|<style/);
    expect(html).toMatch(/<label for="username">/);
    expect(html).toMatch(/name="csrf" value="[\w-]{20,}"/);
  });

  it('refuses a login form without the CSRF token', async () => {
    const config = await discover(auth, 'spa');
    const { browser } = await browserLogin(config, auth, { password: 'wrong password!!' });
    void browser;
    const res = await fetch(`${auth.url}/interaction/nope/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=x',
    });
    expect(res.status).toBe(400);
  });

  it('rotates refresh tokens; reusing an old one revokes the grant and publishes it', async () => {
    const { config, tokens } = await spaTokens(auth);
    const grantId = decodeJwt(tokens.access_token).grant_id as string;
    const first = tokens.refresh_token!;
    const refreshed = await oidc.refreshTokenGrant(config, first, { resource: API });
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(first);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({
      grant_id: grantId,
      amr: ['pwd'],
      roles: ['viewer'],
    });
    expect(await oauthError(oidc.refreshTokenGrant(config, first, { resource: API }))).toBe('invalid_grant');
    // The whole grant is gone: the new refresh token is dead too.
    expect(
      await oauthError(oidc.refreshTokenGrant(config, refreshed.refresh_token!, { resource: API })),
    ).toBe('invalid_grant');
    await expect
      .poll(() => events.some((e) => e.type === 'grant' && e.grantId === grantId), { timeout: 15_000 })
      .toBe(true);
    const introspect = await discover(auth, 'backend', SECRETS.backend);
    const result = await oidc.tokenIntrospection(introspect, refreshed.access_token);
    expect(result.active).toBe(false);
  });

  it('issues client-credentials tokens to a service client with a hashed secret', async () => {
    const config = await discover(auth, 'worker', SECRETS.worker);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'videos:read', resource: API });
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ aud: API, client_id: 'worker', sub: 'worker', scope: 'videos:read' });
    // No user signed in: no amr, no roles.
    expect(at.amr).toBeUndefined();
    expect(at.roles).toBeUndefined();
  });

  it('exchanges a token for another audience with narrowed scopes and an act claim (RFC 8693)', async () => {
    const { tokens } = await spaTokens(auth);
    const config = await discover(auth, 'exchanger', SECRETS.exchanger);
    const exchanged = await oidc.genericGrantRequest(config, EXCHANGE, {
      subject_token: tokens.access_token,
      subject_token_type: AT_TYPE,
      resource: OTHER_API,
      scope: 'videos:read',
    });
    expect(exchanged.issued_token_type).toBe(AT_TYPE);
    const at = decodeJwt(exchanged.access_token);
    const subject = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({
      aud: OTHER_API,
      sub: subject.sub,
      scope: 'videos:read',
      act: { sub: 'exchanger' },
      amr: ['pwd'],
    });
    expect(at.grant_id).toBe(subject.grant_id);
  });

  it('refuses forbidden exchanges with standard errors, and audits them', async () => {
    const { tokens } = await spaTokens(auth);
    const params = { subject_token: tokens.access_token, subject_token_type: AT_TYPE };
    const worker = await discover(auth, 'worker', SECRETS.worker);
    // oidc-provider answers a grant type the client is not registered for with invalid_request.
    expect(
      await oauthError(oidc.genericGrantRequest(worker, EXCHANGE, { ...params, resource: OTHER_API })),
    ).toBe('invalid_request');
    const exchanger = await discover(auth, 'exchanger', SECRETS.exchanger);
    expect(
      await oauthError(oidc.genericGrantRequest(exchanger, EXCHANGE, { ...params, resource: API })),
    ).toBe('invalid_target');
    expect(
      await oauthError(
        oidc.genericGrantRequest(exchanger, EXCHANGE, {
          ...params,
          resource: OTHER_API,
          scope: 'history:read',
        }),
      ),
    ).toBe('invalid_scope');
    expect(
      await oauthError(
        oidc.genericGrantRequest(exchanger, EXCHANGE, {
          subject_token: 'not-a-token',
          subject_token_type: AT_TYPE,
          resource: OTHER_API,
        }),
      ),
    ).toBe('invalid_grant');
    await expect
      .poll(
        async () =>
          (await auditLines(auth)).filter((a) => a.action === 'grant.error' && a.reason === 'invalid_target')
            .length,
      )
      .toBeGreaterThan(0);
    const audit = await auditLines(auth);
    expect(audit.some((a) => a.action === 'grant.error' && a.reason === 'invalid_scope')).toBe(true);
  });

  it('introspects for authenticated callers only, and revokes a JWT access token (RFC 7662, 7009)', async () => {
    const { config: spa, tokens } = await spaTokens(auth);
    const backend = await discover(auth, 'backend', SECRETS.backend);
    const info = await oidc.tokenIntrospection(backend, tokens.access_token);
    expect(info).toMatchObject({ active: true, client_id: 'spa', aud: API, token_type: 'Bearer' });
    const anonymous = await fetch(`${auth.url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }).toString(),
    });
    expect(anonymous.status).toBe(400);
    expect(((await anonymous.json()) as { error: string }).error).toBe('invalid_request');

    const jti = decodeJwt(tokens.access_token).jti!;
    await oidc.tokenRevocation(spa, tokens.access_token);
    await expect
      .poll(() => events.some((e) => e.type === 'token' && e.jti === jti), { timeout: 15_000 })
      .toBe(true);
    expect((await oidc.tokenIntrospection(backend, tokens.access_token)).active).toBe(false);

    // A refresh token (opaque) is revoked by oidc-provider itself, with its grant.
    await oidc.tokenRevocation(spa, tokens.refresh_token!);
    expect(await oauthError(oidc.refreshTokenGrant(spa, tokens.refresh_token!, { resource: API }))).toBe(
      'invalid_grant',
    );
  });

  it('gives standard errors for bad requests, issues nothing, and audits them', async () => {
    const spa = await discover(auth, 'spa');
    // Wrong PKCE verifier.
    const a = await browserLogin(spa, auth);
    expect(
      await oauthError(
        oidc.authorizationCodeGrant(spa, a.callbackUrl, {
          pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
          expectedState: a.state,
        }),
      ),
    ).toBe('invalid_grant');
    // Reused code (the first redemption succeeds).
    const b = await browserLogin(spa, auth);
    await oidc.authorizationCodeGrant(spa, b.callbackUrl, {
      pkceCodeVerifier: b.verifier,
      expectedState: b.state,
    });
    expect(
      await oauthError(
        oidc.authorizationCodeGrant(spa, b.callbackUrl, {
          pkceCodeVerifier: b.verifier,
          expectedState: b.state,
        }),
      ),
    ).toBe('invalid_grant');
    // Wrong redirect URI at the token endpoint.
    const c = await browserLogin(spa, auth);
    const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${auth.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body).toString(),
      });
    const wrongRedirect = await token({
      grant_type: 'authorization_code',
      client_id: 'spa',
      code: c.callbackUrl.searchParams.get('code')!,
      code_verifier: c.verifier,
      redirect_uri: 'http://127.0.0.1:5173/elsewhere',
    });
    expect(wrongRedirect.status).toBe(400);
    expect(await wrongRedirect.json()).toMatchObject({ error: 'invalid_grant' });
    // Wrong redirect URI at the authorization endpoint: never redirected there.
    const bad = await fetch(
      oidc.buildAuthorizationUrl(spa, {
        redirect_uri: 'https://evil.example/cb',
        scope: 'openid',
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      }),
      { redirect: 'manual' },
    );
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
    // Unknown client, bad secret, malformed request.
    const unknown = await token(
      { grant_type: 'client_credentials' },
      { authorization: `Basic ${Buffer.from('nobody:x').toString('base64')}` },
    );
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });
    const badSecret = await token(
      { grant_type: 'client_credentials', resource: API },
      { authorization: `Basic ${Buffer.from('worker:wrong-secret').toString('base64')}` },
    );
    expect(badSecret.status).toBe(401);
    const badBody = (await badSecret.json()) as Record<string, unknown>;
    expect(badBody.error).toBe('invalid_client');
    expect(badBody.access_token).toBeUndefined();
    const malformed = await token(
      { grant_type: 'no_such_grant' },
      { authorization: `Basic ${Buffer.from(`worker:${SECRETS.worker}`).toString('base64')}` },
    );
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'unsupported_grant_type' });

    await expect
      .poll(
        async () =>
          (await auditLines(auth)).filter(
            (x) => x.action === 'grant.error' && x.reason === 'unsupported_grant_type',
          ).length,
      )
      .toBeGreaterThan(0);
    const audit = await auditLines(auth);
    expect(
      audit.filter((x) => x.action === 'client.authenticate' && x.outcome === 'failure').length,
    ).toBeGreaterThanOrEqual(2);
    expect(
      audit.filter((x) => x.action === 'grant.error' && x.reason === 'invalid_grant').length,
    ).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(audit)).not.toContain(SECRETS.worker);
  });

  it('verifies an access token with Python jwcrypto against the published JWKS', async () => {
    const config = await discover(auth, 'worker', SECRETS.worker);
    const { access_token } = await oidc.clientCredentialsGrant(config, {
      scope: 'videos:read',
      resource: API,
    });
    const jwks = await (await fetch(`${auth.url}/jwks`)).text();
    let hasJwcrypto = true;
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import jwcrypto']);
    } catch {
      hasJwcrypto = false;
    }
    if (!hasJwcrypto) {
      console.warn(
        'python3-jwcrypto is missing (apt-get install python3-jwcrypto): skipping the Python check',
      );
      return;
    }
    const script = [
      'import json, sys',
      'from jwcrypto import jwk, jwt',
      'data = json.load(sys.stdin)',
      'keys = jwk.JWKSet.from_json(data["jwks"])',
      't = jwt.JWT(jwt=data["token"], key=keys, algs=["ES256"])',
      'claims = json.loads(t.claims)',
      'hdr = json.loads(t.token.objects["protected"])',
      'print(json.dumps({"aud": claims["aud"], "typ": hdr["typ"], "kid": hdr["kid"]}))',
    ].join('\n');
    const out = execFileSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify({ jwks, token: access_token }),
    });
    const verified = JSON.parse(out.toString()) as { aud: string; typ: string };
    expect(verified).toMatchObject({ aud: API, typ: 'at+jwt' });
  });
});
