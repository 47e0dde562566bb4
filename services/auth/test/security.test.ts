import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  browserLogin,
  discover,
  formOf,
  PASSWORD,
  SECRETS,
  startTestAuth,
  readAudit,
} from './helpers.js';

type Auth = Awaited<ReturnType<typeof startTestAuth>>;

describe('auth security', () => {
  let auth: Auth;
  beforeAll(async () => {
    auth = await startTestAuth({
      env: {
        AUTH_LOGIN_MAX_FAILURES: '3',
        AUTH_LOGIN_LOCKOUT_SECONDS: '30',
        AUTH_TOKEN_RATE_PER_CLIENT: '40',
      },
      users: [
        { username: 'alice', password: PASSWORD, roles: ['viewer'] },
        { username: 'bob', password: PASSWORD, roles: ['admin'] },
        { username: 'carol', password: PASSWORD, roles: [] },
      ],
    });
  });
  afterAll(async () => auth?.stop());

  it('answers one generic message for unknown users and wrong passwords, then locks out', async () => {
    const config = await discover(auth, 'spa');
    const unknown = await browserLogin(config, auth, { username: 'nobody', password: 'whatever it is' });
    const wrong = await browserLogin(config, auth, { username: 'bob', password: 'not the password' });
    const unknownHtml = unknown.lastHtml;
    const wrongHtml = wrong.lastHtml;
    expect(unknown.lastResponse.status).toBe(401);
    expect(wrong.lastResponse.status).toBe(401);
    expect(unknownHtml).toContain('Invalid username or password');
    expect(wrongHtml).toContain('Invalid username or password');
    await browserLogin(config, auth, { username: 'bob', password: 'not the password' });
    // Third failure locks bob out from this IP; even the right password is refused.
    await browserLogin(config, auth, { username: 'bob', password: 'not the password' });
    const locked = await browserLogin(config, auth, { username: 'bob' });
    expect(locked.lastResponse.status).toBe(429);
    expect(Number(locked.lastResponse.headers.get('retry-after'))).toBeGreaterThan(0);
    // Audit records are appended (and fsynced) off the response path: wait for them.
    let audit = '';
    for (let i = 0; i < 100 && !audit.includes('"login.lockout"'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      audit = await readFile(join(auth.home, 'audit', 'auth.jsonl'), 'utf8');
    }
    expect(audit).toContain('"login.lockout"');
    expect(audit).not.toContain('not the password');
    // The series the sign-in alerts read (deploy/prometheus/rules/auth.yml).
    const metrics = await (await fetch(`${auth.url}/metrics`)).text();
    const login = (status: number) =>
      new RegExp(
        `^http_requests_total\\{method="POST",route="/interaction/:uid/login",status_code="${status}"[^}]*\\} (\\d+)`,
        'm',
      );
    expect(Number(metrics.match(login(401))?.[1])).toBeGreaterThanOrEqual(4);
    expect(Number(metrics.match(login(429))?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('enrolls TOTP, then requires it at login and says so in amr', async () => {
    const spa = await discover(auth, 'spa');
    const first = await browserLogin(spa, auth, { username: 'carol' });
    const tokens = await oidc.authorizationCodeGrant(
      spa,
      first.callbackUrl,
      { pkceCodeVerifier: first.verifier, expectedState: first.state },
      { resource: API },
    );
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    const enroll = (await (
      await fetch(`${auth.url}/v1/mfa/enroll`, { method: 'POST', headers: bearer })
    ).json()) as {
      otpauthUri: string;
      qrDataUrl: string;
    };
    expect(enroll.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(enroll.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    const secret = new URL(enroll.otpauthUri).searchParams.get('secret')!;
    const confirm = await fetch(`${auth.url}/v1/mfa/confirm`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ code: await generate({ secret }) }),
    });
    expect(confirm.status).toBe(200);
    const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
    expect(recoveryCodes).toHaveLength(10);
    const stored = await auth.users.byUsername('carol');
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]);
    expect(JSON.stringify(stored)).not.toContain(secret);

    // The code of this time step was used for enrollment: a recovery code signs in now.
    const second = await browserLogin(spa, auth, { username: 'carol', otp: async () => recoveryCodes[0]! });
    const t2 = await oidc.authorizationCodeGrant(spa, second.callbackUrl, {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
    });
    expect(t2.claims()!.amr).toEqual(['pwd', 'mfa']);
    expect(decodeJwt(t2.access_token)).toMatchObject({ amr: ['pwd', 'mfa'], roles: [] });
    // A recovery code works once.
    const reuse = await browserLogin(spa, auth, { username: 'carol', otp: async () => recoveryCodes[0]! });
    expect(reuse.lastResponse.status).toBe(401);
    expect(reuse.lastHtml).toContain('Invalid verification code');
    const audit = await readAudit(auth.home);
    expect(audit).toContain('"mfa.enroll"');
    expect(audit).toContain('"mfa.use"');
    expect(audit).toContain('"mfa.failure"');
  });

  it('accepts OTP codes at login with amr ["pwd","otp"]', async () => {
    const secretUser = 'dave';
    await auth.users.add(secretUser, PASSWORD, []);
    const spa = await discover(auth, 'spa');
    const login = await browserLogin(spa, auth, { username: secretUser });
    const tokens = await oidc.authorizationCodeGrant(
      spa,
      login.callbackUrl,
      { pkceCodeVerifier: login.verifier, expectedState: login.state },
      { resource: API },
    );
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    const { otpauthUri } = (await (
      await fetch(`${auth.url}/v1/mfa/enroll`, { method: 'POST', headers: bearer })
    ).json()) as {
      otpauthUri: string;
    };
    const secret = new URL(otpauthUri).searchParams.get('secret')!;
    // Confirm with the previous step's code (accepted within the drift window) so the current one stays unused.
    const previous = await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 });
    const ok = await fetch(`${auth.url}/v1/mfa/confirm`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ code: previous }),
    });
    expect(ok.status).toBe(200);
    const again = await browserLogin(spa, auth, { username: secretUser, otp: () => generate({ secret }) });
    const t2 = await oidc.authorizationCodeGrant(spa, again.callbackUrl, {
      pkceCodeVerifier: again.verifier,
      expectedState: again.state,
    });
    expect(t2.claims()!.amr).toEqual(['pwd', 'otp']);
    expect(decodeJwt(t2.access_token).amr).toEqual(['pwd', 'otp']);
    void formOf;
  });

  it('keeps a rotated-out key published until its tokens expire, and never accepts an unknown key', async () => {
    const worker = await discover(auth, 'worker', SECRETS.worker);
    const before = await oidc.clientCredentialsGrant(worker, { resource: API });
    const oldKid = JSON.parse(Buffer.from(before.access_token.split('.')[0]!, 'base64url').toString())
      .kid as string;
    const jwksBefore = (await (await fetch(`${auth.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwksBefore.keys.length).toBe(2); // active + next (published before it signs)
    const nextKid = jwksBefore.keys.find((k) => k.kid !== oldKid)!.kid;

    const rotated = await auth.rotateKeys();
    expect(rotated.active).toBe(nextKid);
    expect(rotated.retired).toContain(oldKid);
    const after = await oidc.clientCredentialsGrant(worker, { resource: API });
    const newKid = JSON.parse(Buffer.from(after.access_token.split('.')[0]!, 'base64url').toString())
      .kid as string;
    expect(newKid).toBe(nextKid);

    const jwks = (await (await fetch(`${auth.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, nextKid, rotated.next]));
    const keySet = createLocalJWKSet(jwks);
    const opts = { issuer: auth.issuerUrl, audience: API, algorithms: ['ES256'], typ: 'at+jwt' };
    await expect(jwtVerify(before.access_token, keySet, opts)).resolves.toBeDefined();
    await expect(jwtVerify(after.access_token, keySet, opts)).resolves.toBeDefined();

    // A token signed by a key we never published, even with a known kid, is refused.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    void exportJWK;
    const forged = await new SignJWT({ ...decodeJwt(before.access_token) })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: oldKid })
      .sign(privateKey);
    await expect(jwtVerify(forged, keySet, opts)).rejects.toThrow();
    const unknownKid = await new SignJWT({ ...decodeJwt(before.access_token) })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'unknown' })
      .sign(privateKey);
    await expect(jwtVerify(unknownKid, keySet, opts)).rejects.toThrow();
    const backend = await discover(auth, 'backend', SECRETS.backend);
    expect((await oidc.tokenIntrospection(backend, forged)).active).toBe(false);
    expect((await oidc.tokenIntrospection(backend, before.access_token)).active).toBe(true);
  });

  it('throttles the token endpoint per client with 429 and Retry-After', async () => {
    const basic = `Basic ${Buffer.from(`worker:${SECRETS.worker}`).toString('base64')}`;
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await fetch(`${auth.url}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&resource=${encodeURIComponent(API)}`,
      });
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited!.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('revokes a disabled user: refresh fails and an event is published', async () => {
    const spa = await discover(auth, 'spa');
    const login = await browserLogin(spa, auth, { username: 'alice' });
    const tokens = await oidc.authorizationCodeGrant(
      spa,
      login.callbackUrl,
      { pkceCodeVerifier: login.verifier, expectedState: login.state },
      { resource: API },
    );
    const events: unknown[] = [];
    const sub = auth.events.subscriber();
    await sub.start((e) => events.push(e));
    const user = await auth.users.setDisabled('alice', true);
    await auth.revocations.revoke({ type: 'user', sub: user!.id });
    expect(events).toContainEqual(expect.objectContaining({ type: 'user', sub: user!.id }));
    await sub.close();
    // Her access token is refused by auth's own routes with the stable code, like any garbage is.
    const enroll = (token: string) =>
      fetch(`${auth.url}/v1/mfa/enroll`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const revoked = await enroll(tokens.access_token);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ code: 'FLT_TOKEN_REVOKED' });
    expect(await (await enroll('not.a.token')).json()).toMatchObject({ code: 'FLT_TOKEN_INVALID' });
    await expect(oidc.refreshTokenGrant(spa, tokens.refresh_token!, { resource: API })).rejects.toMatchObject(
      {
        error: 'invalid_grant',
      },
    );
  });
});
