import type { ClientMetadata, KoaContextWithOIDC } from 'oidc-provider';

/** Origins of browser apps: those of the redirect URIs of public (spa) clients. */
export function spaOrigins(clients: readonly ClientMetadata[]): Set<string> {
  const origins = new Set<string>();
  for (const c of clients) {
    if (c.token_endpoint_auth_method !== 'none') continue;
    for (const uri of c.redirect_uris ?? []) {
      try {
        origins.add(new URL(uri).origin);
      } catch {
        // oidc-provider refuses the client's metadata itself.
      }
    }
  }
  return origins;
}

interface CorsClient {
  clientAuthMethod?: string | undefined;
  redirectUris?: readonly string[] | undefined;
}

/**
 * oidc-provider's `clientBasedCORS` (token, revocation, introspection, userinfo): a request
 * from a browser is allowed only for a public client, from an origin of one of its own
 * redirect URIs. Confidential clients hold secrets and never call from a browser.
 */
export function clientBasedCORS(_ctx: KoaContextWithOIDC, origin: string, client: CorsClient): boolean {
  if (client.clientAuthMethod !== 'none') return false;
  return (client.redirectUris ?? []).some((uri) => {
    try {
      return new URL(uri).origin === origin;
    } catch {
      return false;
    }
  });
}

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
  'access-control-allow-credentials',
];

/**
 * In front of every oidc-provider endpoint: CORS only for the registered browser apps'
 * origins. oidc-provider itself answers any preflight and reflects any origin on discovery
 * and JWKS; here a preflight from another origin gets a 403 without CORS headers, and no
 * response carries CORS headers for another origin. Credentials are never allowed (tokens
 * travel in the body and the Authorization header, not in cookies).
 */
export function corsGate(allowed: ReadonlySet<string>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    const origin = ctx.get('Origin');
    if (!origin) return next();
    const ok = allowed.has(origin);
    if (!ok && ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method')) {
      ctx.vary('Origin');
      ctx.status = 403;
      ctx.body = '';
      return;
    }
    try {
      await next();
    } finally {
      if (!ok) for (const h of CORS_HEADERS) ctx.remove(h);
      ctx.remove('access-control-allow-credentials');
    }
  };
}
