import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT } from 'jose';
import { startTestIssuer, type TestIssuer } from '@flotilla/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlotillaError } from '../errors/index.js';
import { bearerToken } from './bearer.js';
import { createUserAuth, type UserAuth } from './user-auth.js';
import { callerEntity } from './user-entity.js';

const AUDIENCE = 'flixtube-api';
let issuer: TestIssuer;
let auth: UserAuth;

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function refusal(promise: Promise<unknown>): Promise<FlotillaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlotillaError);
  return err as FlotillaError;
}

beforeAll(async () => {
  issuer = await startTestIssuer({ audience: AUDIENCE, clientId: 'flixtube-web' });
  auth = createUserAuth({ issuer: issuer.issuer, audience: AUDIENCE, jwksUrl: issuer.jwksUrl });
});
afterAll(() => issuer.close());

describe('createUserAuth', () => {
  it('returns the caller of a valid token', async () => {
    const token = await issuer.token('alice', {
      claims: { roles: ['viewer'], scope: 'openid videos:read', amr: ['pwd', 'otp'] },
    });
    const user = await auth.authenticate(bearer(token));
    expect(user).toEqual({
      sub: 'alice',
      kind: 'user',
      roles: ['viewer'],
      scopes: ['openid', 'videos:read'],
      clientId: 'flixtube-web',
      mfa: true,
    });
  });

  it('reads mfa from amr and tells a client-credentials token apart', async () => {
    expect((await auth.authenticate(bearer(await issuer.token('bob')))).mfa).toBe(false);
    const client = await auth.authenticate(bearer(await issuer.token('flixtube-web')));
    expect(client.kind).toBe('client');
  });

  it('answers a request without a token with a bare Bearer challenge', async () => {
    const err = await refusal(auth.authenticate({ headers: {} }));
    expect(err.status).toBe(401);
    expect(err.code).toBe('FLT_UNAUTHENTICATED');
    expect(err.headers).toEqual({ 'WWW-Authenticate': `Bearer realm="${AUDIENCE}"` });
  });

  it.each([
    ['another scheme', 'Basic YWxpY2U6cHc='],
    ['an empty bearer', 'Bearer '],
    ['two tokens', 'Bearer a b'],
  ])('refuses %s', async (_name, header) => {
    const err = await refusal(auth.authenticate({ headers: { authorization: header } }));
    expect(err.status).toBe(401);
  });

  const bad: Array<[string, () => Promise<string>]> = [
    ['an expired token', () => issuer.token('alice', { expiresIn: -60 })],
    ['another audience', () => issuer.token('alice', { claims: { aud: 'other-api' } })],
    ['another issuer', () => issuer.token('alice', { claims: { iss: 'https://evil.example' } })],
    ['an ID token (typ JWT)', () => issuer.token('alice', { typ: 'JWT' })],
    ['a token without client_id', () => issuer.token('alice', { omit: ['client_id'] })],
    ['a token without jti', () => issuer.token('alice', { omit: ['jti'] })],
    ['a token without sub', () => issuer.token('alice', { omit: ['sub'] })],
    ['a token signed by an unknown key', () => issuer.token('alice', { rogueKey: true })],
    [
      'an HS256 token',
      () =>
        new SignJWT({ sub: 'alice', client_id: 'x', jti: '1' })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .setIssuer(issuer.issuer)
          .setAudience(AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough!')),
    ],
    [
      'an unsigned token (alg none)',
      async () =>
        new UnsecuredJWT({ sub: 'alice', client_id: 'x', jti: '1' })
          .setIssuer(issuer.issuer)
          .setAudience(AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('5m')
          .encode(),
    ],
    ['garbage', async () => 'not.a.jwt'],
  ];
  it.each(bad)('refuses %s with a generic invalid_token answer', async (name, make) => {
    const token = await make();
    const err = await refusal(auth.authenticate(bearer(token)));
    expect(err.status).toBe(401);
    expect(err.code).toBe(name === 'an expired token' ? 'FLT_TOKEN_EXPIRED' : 'FLT_TOKEN_INVALID');
    expect(err.message).toBe('the access token is invalid or expired');
    expect(err.message).not.toContain(token);
    expect(err.headers?.['WWW-Authenticate']).toBe(`Bearer realm="${AUDIENCE}", error="invalid_token"`);
  });

  it('fetches the JWKS once for many tokens', async () => {
    const local = await startTestIssuer({ audience: AUDIENCE });
    try {
      const a = createUserAuth({ issuer: local.issuer, audience: AUDIENCE, jwksUrl: local.jwksUrl });
      for (const sub of ['a', 'b', 'c']) await a.authenticate(bearer(await local.token(sub)));
      expect(local.jwksFetches).toBe(1);
    } finally {
      await local.close();
    }
  });

  it('discovers the JWKS from the issuer when no jwksUrl is given', async () => {
    const discovered = createUserAuth({ issuer: issuer.issuer, audience: AUDIENCE });
    const user = await discovered.authenticate(bearer(await issuer.token('carol')));
    expect(user.sub).toBe('carol');
  });

  it('refuses discovery metadata that names another issuer', async () => {
    const liar: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: issuer.issuer, jwks_uri: issuer.jwksUrl }));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const a = createUserAuth({ issuer: url, audience: AUDIENCE });
      const err = await refusal(a.authenticate(bearer(await issuer.token('alice'))));
      expect(err.status).toBe(503);
    } finally {
      liar.close();
    }
  });

  it('answers 503, not 401, when the keys cannot be fetched', async () => {
    const a = createUserAuth({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      jwksUrl: 'http://127.0.0.1:9/jwks',
    });
    const err = await refusal(a.authenticate(bearer(await issuer.token('alice'))));
    expect(err.code).toBe('FLT_UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });

  it('refuses to start without a usable issuer or audience', () => {
    expect(() => createUserAuth({ issuer: 'not a url', audience: AUDIENCE })).toThrow(/issuer/);
    expect(() => createUserAuth({ issuer: issuer.issuer, audience: '' })).toThrow(/audience/);
    expect(() =>
      createUserAuth({ issuer: issuer.issuer, audience: AUDIENCE, clockToleranceSeconds: 3600 }),
    ).toThrow(/clockTolerance/);
  });
});

describe('bearerToken', () => {
  it('takes the token of a well-formed header, case-insensitively', () => {
    expect(bearerToken({ authorization: 'bearer abc.def-ghi_' })).toBe('abc.def-ghi_');
    expect(bearerToken({ authorization: ['Bearer a', 'Bearer b'] })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });
});

describe('callerEntity', () => {
  it('makes a user a member of its roles and a client a Client', async () => {
    const user = await auth.authenticate(
      bearer(await issuer.token('bob', { claims: { roles: ['admin'], amr: ['pwd', 'mfa'] } })),
    );
    expect(callerEntity(user)).toEqual({
      uid: { type: 'User', id: 'bob' },
      attrs: { roles: ['admin'], mfa: true },
      parents: [{ type: 'Role', id: 'admin' }],
    });
    const client = await auth.authenticate(bearer(await issuer.token('flixtube-web')));
    expect(callerEntity(client).uid).toEqual({ type: 'Client', id: 'flixtube-web' });
  });
});
