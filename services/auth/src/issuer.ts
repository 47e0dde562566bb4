import { FlotillaError, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import type { authConfigSchema } from './config.js';

type AuthContext = ServiceContext<(typeof authConfigSchema)['properties']>;

/**
 * The issuer identifier: `AUTH_ISSUER`, or the URL the service listens on (known once it
 * listens; with a workload identity the kit serves HTTPS itself, with no proxy in front).
 */
export function issuerResolver(app: ServiceApp, ctx: AuthContext): () => string {
  const cfg = ctx.config;
  let issuer = cfg.AUTH_ISSUER?.replace(/\/$/, '');
  return () => {
    if (issuer) return issuer;
    const address = app.server.address();
    if (!address || typeof address === 'string')
      throw new FlotillaError('FLT_INTERNAL', 'auth: issuer unknown before listening');
    const host = cfg.HOST === '0.0.0.0' || cfg.HOST === '::' ? '127.0.0.1' : cfg.HOST;
    const scheme = ctx.identity ? 'https' : 'http';
    issuer = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    return issuer;
  };
}

/** Says, once listening, when the issuer and the way the service is served do not fit together. */
export function warnAboutIssuer(ctx: AuthContext, issuer: string): void {
  const cfg = ctx.config;
  if (issuer.startsWith('https://') && !ctx.identity && !cfg.AUTH_TRUST_PROXY) {
    ctx.log.warn(
      { issuer },
      'issuer is HTTPS but this service serves plain HTTP: give it a workload identity (FLOTILLA_CONTROL_URL) or put it behind a TLS proxy with AUTH_TRUST_PROXY',
    );
  }
  if (issuer.startsWith('http://') && !cfg.AUTH_DEV_INSECURE_HTTP && !cfg.AUTH_TRUST_PROXY) {
    ctx.log.warn(
      { issuer },
      'issuer is plain HTTP while cookies are Secure: browser sign-in needs HTTPS (AUTH_TRUST_PROXY behind a TLS proxy, or AUTH_DEV_INSECURE_HTTP=true for local development)',
    );
  }
}
