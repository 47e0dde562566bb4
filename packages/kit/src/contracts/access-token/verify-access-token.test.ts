import {
  createLocalJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTVerifyGetKey,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHMS } from './claims.js';
import { AccessTokenError, verifyAccessToken } from './verify-access-token.js';

const ISSUER = 'https://auth.example';
const AUDIENCE = 'https://api.example';
const now = () => Math.floor(Date.now() / 1000);

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let keys: JWTVerifyGetKey;
let privateKey: Key;
let publicKey: Key;

beforeAll(async () => {
  ({ privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true }));
  keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
});

/** A valid token unless a claim or header is overridden (undefined removes it). */
async function token(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: Key | Uint8Array = privateKey,
) {
  const body: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'web',
    jti: crypto.randomUUID(),
    iat: now(),
    exp: now() + 300,
    ...claims,
  };
  for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...header })
    .sign(key);
}

const opts = { issuer: ISSUER, audience: AUDIENCE };

async function refusal(t: string, o: Parameters<typeof verifyAccessToken>[2] = opts) {
  const err = await verifyAccessToken(t, keys, o).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AccessTokenError);
  return err as AccessTokenError;
}

describe('verifyAccessToken (RFC 9068 §4)', () => {
  it('returns the claims of a valid token', async () => {
    const claims = await verifyAccessToken(await token({ scope: 'a b' }), keys, opts);
    expect(claims).toMatchObject({ iss: ISSUER, sub: 'user-1', client_id: 'web', scope: 'a b' });
  });

  it('accepts typ application/at+jwt and any of several audiences', async () => {
    await expect(
      verifyAccessToken(await token({}, { typ: 'application/at+jwt' }), keys, opts),
    ).resolves.toBeDefined();
    const t = await token({ aud: 'https://other.example' });
    await expect(
      verifyAccessToken(t, keys, { issuer: ISSUER, audience: [AUDIENCE, 'https://other.example'] }),
    ).resolves.toBeDefined();
  });

  it('allows ES256 only', () => {
    expect(ALGORITHMS).toEqual(['ES256']);
  });

  it('refuses an expired token with FLT_TOKEN_EXPIRED', async () => {
    const err = await refusal(await token({ iat: now() - 600, exp: now() - 60 }));
    expect(err.code).toBe('FLT_TOKEN_EXPIRED');
    expect(err.status).toBe(401);
    expect(err.reason).toBe('token expired');
  });

  it('honours the clock tolerance', async () => {
    const t = await token({ iat: now() - 600, exp: now() - 2 });
    await expect(verifyAccessToken(t, keys, { ...opts, clockToleranceSeconds: 30 })).resolves.toBeDefined();
  });

  const broken: Array<[string, () => Promise<string>, string]> = [
    ['typ JWT (an ID token)', () => token({}, { typ: 'JWT' }), 'typ claim check failed'],
    ['no typ', () => token({}, { typ: undefined }), 'typ claim check failed'],
    ['another issuer', () => token({ iss: 'https://evil.example' }), 'iss claim check failed'],
    ['another audience', () => token({ aud: 'https://other.example' }), 'aud claim check failed'],
    ['not yet valid (nbf)', () => token({ nbf: now() + 120 }), 'nbf claim check failed'],
    ['issued in the future (iat)', () => token({ iat: now() + 120 }), 'iat claim check failed'],
    ['no exp', () => token({ exp: undefined }), 'exp claim check failed'],
    ['no iat', () => token({ iat: undefined }), 'iat claim check failed'],
    ['no sub', () => token({ sub: undefined }), 'sub claim check failed'],
    ['no client_id', () => token({ client_id: undefined }), 'client_id claim check failed'],
    ['no jti', () => token({ jti: undefined }), 'jti claim check failed'],
    ['an empty sub', () => token({ sub: '' }), 'sub claim must be a non-empty string'],
    ['a numeric client_id', () => token({ client_id: 7 }), 'client_id claim must be a non-empty string'],
    [
      'a key the issuer never published (known kid)',
      async () => token({}, {}, (await generateKeyPair('ES256')).privateKey),
      'signature verification failed',
    ],
    [
      'an unknown kid',
      async () => token({}, { kid: 'k-unknown' }, (await generateKeyPair('ES256')).privateKey),
      'unknown signing key',
    ],
    [
      'HS256 signed with the public key as the secret',
      async () => token({}, { alg: 'HS256' }, new TextEncoder().encode(await exportSPKI(publicKey))),
      'algorithm not allowed',
    ],
    [
      'ES384 (a real signature, not on the list)',
      async () => token({}, { alg: 'ES384' }, (await generateKeyPair('ES384')).privateKey),
      'algorithm not allowed',
    ],
    [
      'alg none (unsigned)',
      async () =>
        new UnsecuredJWT({ sub: 'u', client_id: 'c', jti: 'j' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('5m')
          .encode(),
      'algorithm not allowed',
    ],
    ['garbage', async () => 'not.a.jwt', 'malformed token'],
  ];
  it.each(broken)('refuses %s with FLT_TOKEN_INVALID', async (_name, make, reason) => {
    const t = await make();
    const err = await refusal(t);
    expect(err.code).toBe('FLT_TOKEN_INVALID');
    expect(err.status).toBe(401);
    expect(err.reason).toBe(reason);
    expect(err.message).not.toContain(t);
  });

  it('answers FLT_UNAVAILABLE (retryable), not a refusal, when the keys cannot be had', async () => {
    const failing: JWTVerifyGetKey = async () => {
      throw new TypeError('fetch failed');
    };
    const err = await verifyAccessToken(await token(), failing, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessTokenError);
    expect((err as AccessTokenError).code).toBe('FLT_UNAVAILABLE');
    expect((err as AccessTokenError).retryable).toBe(true);
  });
});
