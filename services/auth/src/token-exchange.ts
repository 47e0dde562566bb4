import { SIGNING_ALGORITHM } from '@flotilla/kit/contracts';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ResourceConfig } from './clients.js';
import { type AccessTokenVerifier, revocationKeys } from './provider/access-tokens.js';
import type { Revocations } from './revocations/store.js';

/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_EXCHANGE_PARAMS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
];

/** Claims to add to a token being issued (the exchange's `act`), read by extraTokenClaims. */
export const pendingClaims = new WeakMap<object, Record<string, unknown>>();

export interface ExchangeDeps {
  verifier: AccessTokenVerifier;
  revocations: Revocations;
  resources: ReadonlyMap<string, ResourceConfig>;
  accessTokenTTL: number;
}

function param(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const v = ctx.oidc.params?.[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Token exchange (RFC 8693) registered on oidc-provider: an access token we issued is
 * exchanged for one with another audience (a resource the caller is allowed to exchange
 * for), scopes narrowed to the subject token's and the target's, and an `act` claim
 * naming the exchanging client (§4.1; earlier actors nest inside).
 */
export function tokenExchangeHandler(deps: ExchangeDeps) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const { provider } = ctx.oidc;
    const client = ctx.oidc.client!;
    const allowed = (client.metadata().flotilla_token_exchange as string[] | undefined) ?? [];
    if (!allowed.length) throw new errors.UnauthorizedClient('client is not allowed to exchange tokens');
    const subjectToken = param(ctx, 'subject_token');
    if (!subjectToken) throw new errors.InvalidRequest('missing required parameter subject_token');
    if (param(ctx, 'subject_token_type') !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('subject_token_type must be an access token type');
    }
    const requested = param(ctx, 'requested_token_type');
    if (requested && requested !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('only access tokens can be requested');
    }
    if (param(ctx, 'actor_token')) throw new errors.InvalidRequest('actor_token is not supported');

    let subject;
    try {
      subject = await deps.verifier.verify(subjectToken);
    } catch {
      throw new errors.InvalidGrant('subject_token is invalid or expired');
    }
    if (await deps.revocations.isRevoked(revocationKeys(subject))) {
      throw new errors.InvalidGrant('subject_token is revoked');
    }

    // RFC 8693 §2.1: the target is named by `resource` (RFC 8707) or `audience`.
    const target = param(ctx, 'resource') ?? param(ctx, 'audience') ?? allowed[0]!;
    const resource = deps.resources.get(target);
    if (!resource || !allowed.includes(target)) {
      throw new errors.InvalidTarget('client may not exchange tokens for this audience');
    }
    const subjectScopes = new Set(
      (typeof subject.scope === 'string' ? subject.scope : '').split(' ').filter(Boolean),
    );
    const asked = param(ctx, 'scope')?.split(' ').filter(Boolean) ?? [...subjectScopes];
    const excess = asked.filter((s) => !subjectScopes.has(s));
    if (excess.length)
      throw new errors.InvalidScope('requested scope exceeds the subject token', excess.join(' '));
    const scope = asked.filter((s) => resource.scopes.includes(s)).join(' ');

    const act: Record<string, unknown> = { sub: client.clientId };
    if (subject.act) act.act = subject.act;
    const at = new provider.AccessToken({
      accountId: subject.sub,
      client,
      grantId: typeof subject.grant_id === 'string' ? subject.grant_id : undefined,
      scope: scope || undefined,
      gty: 'token_exchange',
    } as ConstructorParameters<typeof provider.AccessToken>[0]);
    const ttl = resource.accessTokenTTL ?? deps.accessTokenTTL;
    at.resourceServer = new provider.ResourceServer(target, {
      scope: resource.scopes.join(' '),
      audience: target,
      accessTokenTTL: ttl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: SIGNING_ALGORITHM } },
    });
    // The user signed in the same way whoever presents the token: keep the subject's amr.
    pendingClaims.set(at, { act, ...(Array.isArray(subject.amr) ? { amr: subject.amr } : {}) });
    ctx.oidc.entity('AccessToken', at);
    const value = await at.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: ttl,
      ...(scope ? { scope } : {}),
    };
  };
}
