import { FlotillaError } from '@flotilla/kit';
import { type AccessTokenClaims, verifyAccessToken } from '@flotilla/kit/contracts';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Revocations } from '../revocations/store.js';

/**
 * Verifies our own JWT access tokens with the access-token contract (the same checks as
 * every gateway and service), against the keys we publish, for any of our resources.
 */
export class AccessTokenVerifier {
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  private issuer = '';

  /** `audiences`: the resource indicators we issue JWT access tokens for. */
  constructor(private readonly audiences: readonly string[]) {}

  setKeys(issuer: string, publicJwks: JSONWebKeySet): void {
    this.issuer = issuer;
    this.jwks = createLocalJWKSet(publicJwks);
  }

  /** Throws the contract's `AccessTokenError` for a token we would not accept. */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (!this.jwks) throw new FlotillaError('FLT_UNAVAILABLE', 'the signing keys are not loaded yet');
    return verifyAccessToken(token, this.jwks, { issuer: this.issuer, audience: this.audiences });
  }
}

/**
 * oidc-provider refuses to introspect or revoke structured (JWT) access tokens, which
 * it does not store. This middleware runs after oidc-provider has authenticated the
 * caller and answered `unsupported_token_type`, and answers instead from the token's
 * signature and our revocation list: RFC 7662 for introspection, RFC 7009 for revocation
 * (recorded and published so gateways deny the token at once).
 */
export function structuredTokenMiddleware(verifier: AccessTokenVerifier, revocations: Revocations) {
  return async function structuredTokens(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'introspection' && route !== 'revocation') return;
    const body = ctx.body as { error?: string } | undefined;
    const client = ctx.oidc.client;
    const token = (ctx.oidc.params as { token?: unknown } | undefined)?.token;
    if (
      ctx.status !== 400 ||
      body?.error !== 'unsupported_token_type' ||
      !client ||
      typeof token !== 'string'
    ) {
      return;
    }
    let claims: AccessTokenClaims | undefined;
    try {
      claims = await verifier.verify(token);
    } catch {
      claims = undefined;
    }
    const publicClient = client.clientAuthMethod === 'none';
    ctx.set('cache-control', 'no-store');
    if (route === 'introspection') {
      ctx.status = 200;
      const active =
        claims &&
        !(publicClient && claims.client_id !== client.clientId) &&
        !(await revocations.isRevoked(revocationKeys(claims)));
      // RFC 7662 §2.2: an inactive token reveals nothing else.
      ctx.body = active ? { active: true, token_type: 'Bearer', ...claims } : { active: false };
      return;
    }
    // RFC 7009 §2.2: 200 for an invalid or expired token too; nothing to revoke.
    ctx.status = 200;
    ctx.body = '';
    if (!claims) return;
    if (claims.client_id !== client.clientId) {
      // RFC 7009 §2.1: only the client the token was issued to may revoke it.
      if (publicClient) return;
      ctx.status = 400;
      const err = new errors.InvalidRequest('client is not authorized to revoke the presented token');
      ctx.body = { error: err.error, error_description: err.error_description };
      return;
    }
    const remaining = Math.max(1, (claims.exp ?? 0) - Math.floor(Date.now() / 1000) + 60);
    const { iat: _iat, ...keys } = revocationKeys(claims);
    await revocations.revoke({ type: 'token', ...keys }, remaining);
  };
}

/** The claims a revocation can name: the contract guarantees `jti`, `sub`, `client_id` and `iat`. */
export function revocationKeys(c: AccessTokenClaims) {
  return {
    jti: c.jti,
    ...(typeof c.grant_id === 'string' ? { grantId: c.grant_id } : {}),
    sub: c.sub,
    clientId: c.client_id,
    iat: c.iat,
  };
}
