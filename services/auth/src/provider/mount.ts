import type { ServiceApp } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type Provider from 'oidc-provider';
import type { TokenThrottle } from '../throttle.js';
import { SECURITY_HEADERS } from '../views/html.js';

/** oidc-provider's endpoints (its default `routes`), served at the issuer's root. */
export const PROVIDER_PATHS = [
  '/.well-known/openid-configuration',
  '/auth',
  '/auth/:uid',
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/jwks',
  '/me',
  '/session/end',
  '/session/end/confirm',
  '/session/end/success',
];

const PROVIDER_HEADERS = Object.fromEntries(
  Object.entries(SECURITY_HEADERS).filter(([k]) => k !== 'cache-control'),
);

type RawWithBody = FastifyRequest['raw'] & { body?: unknown };

/** The client a token request is for, from its Basic credentials or body (throttling key only). */
function tokenClientId(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const id = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0];
    if (id) return safeDecode(id);
  }
  const body = typeof req.body === 'string' ? new URLSearchParams(req.body) : undefined;
  const id = body?.get('client_id');
  if (id) return id.slice(0, 128);
  const assertion = body?.get('client_assertion');
  if (assertion) {
    try {
      const iss = decodeJwt(assertion).iss;
      return iss?.slice(0, 128);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s).slice(0, 128);
  } catch {
    return s.slice(0, 128);
  }
}

const OIDC_SCOPES = new Set(['openid', 'offline_access', 'profile', 'roles']);

/**
 * A client-credentials request without `scope` asks for the client's registered API scopes
 * (RFC 6749 §3.3: a pre-defined default), not for a token without any; the token is then
 * narrowed to the resource's scopes as usual. Only the parameter is filled in: the client
 * is still authenticated by oidc-provider.
 */
async function withDefaultScope(
  body: string,
  clientId: string | undefined,
  provider: Provider,
): Promise<string> {
  const params = new URLSearchParams(body);
  if (params.get('grant_type') !== 'client_credentials' || params.has('scope') || !clientId) return body;
  const client = await provider.Client.find(clientId).catch(() => undefined);
  const scope = (client?.scope ?? '')
    .split(' ')
    .filter((s) => s && !OIDC_SCOPES.has(s))
    .join(' ');
  if (!scope) return body;
  params.set('scope', scope);
  return params.toString();
}

/**
 * Mounts oidc-provider's Koa app inside Fastify: each provider route hands the raw
 * request to `provider.callback()` after `reply.hijack()`. Bodies are left unread for
 * oidc-provider, except the token endpoint's, which is read first to throttle per client
 * and handed over as `req.body` (oidc-provider's documented fallback).
 */
export function mountProvider(
  app: ServiceApp,
  getProvider: () => Promise<{ provider: Provider; callback: ReturnType<Provider['callback']> }>,
  throttle: TokenThrottle,
  /** Records the refusal; the 429 is sent once it resolves. */
  onThrottled: (clientId: string | undefined, ip: string) => Promise<unknown>,
  logoutOrigins: readonly string[] = [],
): void {
  // The sign-out confirmation form ends in a redirect to a client's registered
  // post-logout URI, and browsers hold that redirect to the page's form-action too.
  const logoutHeaders = {
    ...PROVIDER_HEADERS,
    'content-security-policy': String(PROVIDER_HEADERS['content-security-policy']).replace(
      "form-action 'self'",
      ["form-action 'self'", ...logoutOrigins].join(' '),
    ),
  };
  const hand = async (req: FastifyRequest, reply: FastifyReply) => {
    const { callback } = await getProvider();
    reply.hijack();
    const headers = req.url.startsWith('/session/end') ? logoutHeaders : PROVIDER_HEADERS;
    for (const [k, v] of Object.entries(headers)) reply.raw.setHeader(k, v);
    await callback(req.raw, reply.raw);
  };

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    for (const path of PROVIDER_PATHS.filter((p) => p !== '/token')) {
      scope.route({ method: ['GET', 'POST', 'HEAD', 'OPTIONS'], url: path, handler: hand });
    }
  });

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, body),
    );
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    scope.route({
      method: ['POST', 'OPTIONS'],
      url: '/token',
      handler: async (req, reply) => {
        if (req.method === 'POST') {
          const clientId = tokenClientId(req);
          const wait = await throttle.take(clientId, req.ip);
          if (wait !== undefined) {
            await onThrottled(clientId, req.ip);
            return reply
              .code(429)
              .header('retry-after', String(wait))
              .header('cache-control', 'no-store')
              .send({
                error: 'temporarily_unavailable',
                error_description: 'too many requests, retry later',
              });
          }
          if (typeof req.body === 'string') {
            const { provider } = await getProvider();
            (req.raw as RawWithBody).body = await withDefaultScope(req.body, clientId, provider);
          }
        }
        return hand(req, reply);
      },
    });
  });
}
