import type { Db } from '@flotilla/kit';
import type { JWK } from 'jose';
import type { ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ResourceConfig } from '../clients.js';
import { SIGNING_ALG } from '../keys.js';
import { pendingClaims } from '../token-exchange.js';
import type { UserStore } from '../users/store.js';
import { layout } from '../views/html.js';
import { messagePage } from '../views/pages.js';
import { dbAdapter } from './adapter.js';
import { clientBasedCORS } from './cors.js';

export interface ProviderSettings {
  db: Db;
  users: UserStore;
  signingKeys: JWK[];
  cookieKeys: string[];
  clients: ClientMetadata[];
  resources: ReadonlyMap<string, ResourceConfig>;
  accessTokenTTL: number;
  idTokenTTL: number;
  refreshTokenTTL: number;
  /** Cookies are `Secure` unless this explicit dev/test relaxation is on. */
  insecureHttp: boolean;
}

function clientList(client: { metadata(): Record<string, unknown> } | undefined, key: string): string[] {
  const v = client?.metadata()[key];
  return Array.isArray(v) ? (v as string[]) : [];
}

/** The `amr` of the code or refresh token an access token is being issued for. */
function sourceAmr(ctx: KoaContextWithOIDC | undefined): string[] | undefined {
  const entities = ctx?.oidc?.entities as
    { AuthorizationCode?: { amr?: unknown }; RefreshToken?: { amr?: unknown } } | undefined;
  const amr = entities?.AuthorizationCode?.amr ?? entities?.RefreshToken?.amr;
  return Array.isArray(amr) && amr.length && amr.every((v) => typeof v === 'string') ? amr : undefined;
}

/** The oidc-provider configuration: secure defaults, nothing left to its dev defaults. */
export function providerConfiguration(s: ProviderSettings): Configuration {
  const cookie = { secure: !s.insecureHttp, httpOnly: true, sameSite: 'lax' as const };
  return {
    adapter: dbAdapter(s.db),
    clients: s.clients,
    jwks: { keys: s.signingKeys },
    cookies: { keys: s.cookieKeys, long: cookie, short: cookie },
    async findAccount(_ctx, sub) {
      const user = await s.users.byId(sub);
      if (!user || user.disabled) return undefined;
      return {
        accountId: user.id,
        claims: async () => ({ sub: user.id, preferred_username: user.username, roles: user.roles }),
      };
    },
    // `amr` (RFC 8176) rides with the openid scope so every ID token says how the user signed in.
    claims: {
      openid: ['sub', 'amr'],
      profile: ['preferred_username'],
      roles: ['roles'],
      acr: null,
      auth_time: null,
      sid: null,
      iss: null,
    },
    // Client metadata `scope` may only name scopes listed here: OIDC ones and every resource's.
    scopes: [
      ...new Set([
        'openid',
        'offline_access',
        'profile',
        'roles',
        ...[...s.resources.values()].flatMap((r) => r.scopes),
      ]),
    ],
    clientDefaults: {
      id_token_signed_response_alg: SIGNING_ALG,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt', 'none'],
    // Browser calls to token, revocation, introspection and userinfo: spa clients from their
    // own redirect URIs' origins only (see cors.ts for the gate in front of every endpoint).
    clientBasedCORS,
    enabledJWA: {
      idTokenSigningAlgValues: [SIGNING_ALG],
      userinfoSigningAlgValues: [SIGNING_ALG],
      clientAuthSigningAlgValues: ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'],
    },
    extraClientMetadata: {
      properties: ['flotilla_resources', 'flotilla_token_exchange'],
      validator(_ctx, key, value) {
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
          throw new errors.InvalidClientMetadata(`${key} must be an array of strings`);
        }
      },
    },
    responseTypes: ['code'],
    // OAuth 2.1 / RFC 9700 §2.1.1: PKCE (S256 only in oidc-provider 9) for every code flow.
    pkce: { required: () => true },
    features: providerFeatures(s),
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Refresh tokens rotate on every use; a reused one revokes the whole grant (see
    // oidc-provider's refresh_token grant and revokeGrantPolicy below).
    rotateRefreshToken: true,
    revokeGrantPolicy: () => true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    extraTokenClaims: (ctx, token) => extraTokenClaims(s, ctx, token),
    ttl: lifetimes(s),
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = messagePage('Sign-in error', String(out.error_description ?? out.error ?? 'error'));
    },
  };
}

/** The provider's features: what is on (introspection, revocation, resource indicators, logout) and their policies. */
function providerFeatures(s: ProviderSettings): Configuration['features'] {
  return {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // RFC 7662 §4: a public client may only introspect its own tokens.
      allowedPolicy: async (ctx, client, token) =>
        !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client?.clientId),
    },
    revocation: {
      enabled: true,
      // RFC 7009 §2.1: only the client the token was issued to.
      allowedPolicy: async (_ctx, client, token) => {
        if (token.clientId === client.clientId) return true;
        if (client.clientAuthMethod === 'none') return false;
        throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, client, oneOf) => oneOf ?? clientList(client, 'flotilla_resources')[0],
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator, client) => {
        const rs = s.resources.get(indicator);
        const allowed =
          clientList(client, 'flotilla_resources').includes(indicator) ||
          (ctx.oidc.params?.grant_type === 'urn:ietf:params:oauth:grant-type:token-exchange' &&
            clientList(client, 'flotilla_token_exchange').includes(indicator));
        if (!rs || !allowed) throw new errors.InvalidTarget('unknown or unauthorized resource');
        return {
          scope: rs.scopes.join(' '),
          audience: rs.indicator,
          accessTokenTTL: rs.accessTokenTTL ?? s.accessTokenTTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: SIGNING_ALG } },
        };
      },
    },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.type = 'html';
        ctx.body = layout(
          'Sign out',
          `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
        );
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.type = 'html';
        ctx.body = messagePage('Signed out', 'You are signed out.');
      },
    },
  };
}

/** Claims added to a token being issued: an exchange's `act`, the grant id, roles and `amr`. */
async function extraTokenClaims(
  s: ProviderSettings,
  ctx: KoaContextWithOIDC,
  token: Parameters<NonNullable<Configuration['extraTokenClaims']>>[1],
): Promise<Record<string, unknown>> {
  const extra: Record<string, unknown> = { ...pendingClaims.get(token) };
  if (token.kind === 'AccessToken') {
    const at = token as { grantId?: string; accountId?: string };
    // Gateways deny every token of a revoked grant: they need its id.
    if (at.grantId) extra.grant_id = at.grantId;
    const user = at.accountId ? await s.users.byId(at.accountId) : undefined;
    if (user) extra.roles = user.roles;
    // RFC 9068 §2.2.1: how the user signed in, as in the ID token (RFC 8176 values), so
    // resource servers can ask for MFA. It comes from the code or refresh token the
    // access token is issued for (both carry the session's amr); token exchange sets
    // the subject token's amr through pendingClaims.
    if (extra.amr === undefined) {
      const amr = sourceAmr(ctx);
      if (amr) extra.amr = amr;
    }
  }
  return extra;
}

/** How long each kind of token, code and session lives (seconds). */
function lifetimes(s: ProviderSettings): Configuration['ttl'] {
  return {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? s.accessTokenTTL,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? s.accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: s.idTokenTTL,
    RefreshToken: s.refreshTokenTTL,
    Interaction: 600,
    Session: 14 * 86_400,
    Grant: s.refreshTokenTTL,
  };
}
