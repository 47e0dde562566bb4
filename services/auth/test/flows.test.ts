import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, browserLogin, discover, SECRETS, startTestAuth } from './helpers.js';

type Auth = Awaited<ReturnType<typeof startTestAuth>>;

describe('auth flows with openid-client', () => {
  let auth: Auth;
  beforeAll(async () => {
    auth = await startTestAuth();
  });
  afterAll(async () => auth?.stop());

  it('publishes discovery with our endpoints', async () => {
    const config = await discover(auth, 'spa');
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(auth.issuerUrl);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.introspection_endpoint).toBeDefined();
    expect(meta.revocation_endpoint).toBeDefined();
    expect(meta.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:token-exchange');
  });

  it('runs authorization code + PKCE through the login form, with a JWT access token', async () => {
    const config = await discover(auth, 'spa');
    const { callbackUrl, verifier, state } = await browserLogin(config, auth);
    expect(callbackUrl.searchParams.get('code')).toBeTruthy();
    const tokens = await oidc.authorizationCodeGrant(
      config,
      callbackUrl,
      {
        pkceCodeVerifier: verifier,
        expectedState: state,
      },
      { resource: API },
    );
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const at = decodeJwt(tokens.access_token);
    expect(at.aud).toBe(API);
    expect(at.client_id).toBe('spa');
    expect(at.roles).toEqual(['viewer']);
    expect(at.exp! - at.iat!).toBe(300);
    expect(at.grant_id).toBeTruthy();
    const claims = tokens.claims()!;
    expect(claims.amr).toEqual(['pwd']);
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('issues client-credentials tokens to a service client with a hashed secret', async () => {
    const config = await discover(auth, 'worker', SECRETS.worker);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'videos:read', resource: API });
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ aud: API, client_id: 'worker', sub: 'worker', scope: 'videos:read' });
  });
});
