// The access-token contract from the issuing end: every kind of access token auth issues
// passes `verifyAccessToken` — the checks the gateway and every service run — and what
// auth signs that is not an access token for the audience is refused with the right code.
import { ALGORITHMS, verifyAccessToken } from '@flotilla/kit/contracts';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTVerifyGetKey } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, browserLogin, discover, OTHER_API, SECRETS, SPA_REDIRECT, startTestAuth } from './helpers.js';

let auth: Awaited<ReturnType<typeof startTestAuth>>;
let keys: JWTVerifyGetKey;

beforeAll(async () => {
  auth = await startTestAuth();
  keys = createRemoteJWKSet(new URL(`${auth.url}/jwks`));
});
afterAll(() => auth?.stop());

async function userTokens() {
  const spa = await discover(auth, 'spa');
  const login = await browserLogin(spa, auth);
  return oidc.authorizationCodeGrant(
    spa,
    login.callbackUrl,
    { pkceCodeVerifier: login.verifier, expectedState: login.state },
    { resource: API, redirect_uri: SPA_REDIRECT },
  );
}

describe('access tokens auth issues, verified with the contract', () => {
  it('a client-credentials token', async () => {
    const worker = await discover(auth, 'worker', SECRETS.worker);
    const { access_token } = await oidc.clientCredentialsGrant(worker, { resource: API });
    expect(ALGORITHMS).toContain(decodeProtectedHeader(access_token).alg);
    const claims = await verifyAccessToken(access_token, keys, { issuer: auth.issuerUrl, audience: API });
    expect(claims).toMatchObject({ sub: 'worker', client_id: 'worker', aud: API });
  });

  it('a user token, and the token exchanged for it', async () => {
    const tokens = await userTokens();
    const claims = await verifyAccessToken(tokens.access_token, keys, {
      issuer: auth.issuerUrl,
      audience: API,
    });
    expect(claims.client_id).toBe('spa');
    const exchanger = await discover(auth, 'exchanger', SECRETS.exchanger);
    const exchanged = await oidc.genericGrantRequest(
      exchanger,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      {
        subject_token: tokens.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: OTHER_API,
      },
    );
    const other = await verifyAccessToken(exchanged.access_token, keys, {
      issuer: auth.issuerUrl,
      audience: OTHER_API,
    });
    expect(other.sub).toBe(claims.sub);
  });

  it('refuses an auth token for another audience, from another issuer, or an ID token', async () => {
    const tokens = await userTokens();
    const refusal = (token: string, issuer: string, audience: string) =>
      verifyAccessToken(token, keys, { issuer, audience }).catch((e: unknown) => e);
    expect(await refusal(tokens.access_token, auth.issuerUrl, OTHER_API)).toMatchObject({
      code: 'FLT_TOKEN_INVALID',
      reason: 'aud claim check failed',
    });
    expect(await refusal(tokens.access_token, 'https://elsewhere.example', API)).toMatchObject({
      code: 'FLT_TOKEN_INVALID',
      reason: 'iss claim check failed',
    });
    // RFC 9068 §4: an ID token (typ JWT) is never an access token, though the same key signed it.
    expect(await refusal(tokens.id_token!, auth.issuerUrl, 'spa')).toMatchObject({
      code: 'FLT_TOKEN_INVALID',
      reason: 'typ claim check failed',
    });
  });
});
