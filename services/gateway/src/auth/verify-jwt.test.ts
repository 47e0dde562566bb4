import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import { AUDIENCE, ISSUER, startIssuer } from '../../test/harness.js';
import { JwtVerifier } from './verify-jwt.js';

let issuer: Awaited<ReturnType<typeof startIssuer>>;
beforeAll(async () => void (issuer = await startIssuer()));
afterAll(() => issuer.close());

const verifier = (cooldownMs: number) =>
  new JwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: issuer.jwksUrl,
    clockToleranceSec: 5,
    jwksCooldownMs: cooldownMs,
    jwksCacheMaxAgeMs: 600_000,
    jwksTimeoutMs: 2_000,
    cacheSize: 100,
  });

describe('JwtVerifier', () => {
  it('verifies once per token (cache), and maps claims to a principal', async () => {
    const v = verifier(30_000);
    const token = await issuer.token({ roles: ['admin'], amr: ['pwd', 'otp'] });
    const p = await v.verify(token);
    expect(p).toMatchObject({
      type: 'User',
      id: 'user-1',
      clientId: 'web',
      roles: ['admin'],
      amr: ['pwd', 'otp'],
      scopes: ['videos:read'],
    });
    expect(await v.verify(token)).toBe(p);
    expect(v.cacheSize).toBe(1);
  });

  it('treats client_credentials tokens as the client', async () => {
    const p = await verifier(30_000).verify(await issuer.token({ sub: 'batch', client_id: 'batch' }));
    expect(p).toMatchObject({ type: 'Client', id: 'batch' });
  });

  it('refetches the key set for an unknown kid, at most once per cool-down', async () => {
    const v = verifier(300);
    await v.verify(await issuer.token());
    const base = issuer.fetches;
    const rotated = await generateKeyPair('ES256', { extractable: true });
    const sign = () => issuer.token({}, { kid: 'k2' }, rotated.privateKey);
    // Within the cool-down the unknown kid is refused without a fetch.
    await expect(v.verify(await sign())).rejects.toMatchObject({ status: 401 });
    expect(issuer.fetches).toBe(base);
    issuer.keys.push({ ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'ES256' });
    await new Promise((r) => setTimeout(r, 350));
    await expect(v.verify(await sign())).resolves.toMatchObject({ sub: 'user-1' });
    expect(issuer.fetches).toBe(base + 1);
    issuer.keys.pop();
  });

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    const v = new JwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: 'http://127.0.0.1:9/jwks',
      clockToleranceSec: 5,
      jwksCooldownMs: 0,
      jwksCacheMaxAgeMs: 1000,
      jwksTimeoutMs: 500,
      cacheSize: 10,
    });
    await expect(v.verify(await issuer.token())).rejects.toMatchObject({ status: 503 });
  });
});
