import { FlotillaError, peerOf, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { PolicyBundlePublisher, SignedPolicyBundle } from './publisher.js';
import type { PolicyKeyring } from './signing-key.js';

export interface PolicyBundleRouteDeps {
  current: () => SignedPolicyBundle | undefined;
  /** True when the request carries the operator's admin token. */
  isAdmin: (request: FastifyRequest) => boolean;
}

/** The ETag of a bundle version (a strong validator: the bytes of one version never change). */
export const bundleEtag = (version: number): string => `"${version}"`;

/**
 * `GET /v1/policy/bundle`: the signed bundle (`application/jose`, a JWS compact
 * serialisation) with its version as ETag; `If-None-Match` with that ETag answers 304.
 * Workloads authenticate with their certificate (policy decides, like every mTLS call);
 * the operator with the admin token.
 */
export function policyBundleRoutes(app: ServiceApp, deps: PolicyBundleRouteDeps): void {
  app.get('/v1/policy/bundle', async (request, reply) => {
    if (!peerOf(request) && !deps.isAdmin(request)) {
      throw new FlotillaError('UNAUTHENTICATED', 'a client certificate or the admin token is required');
    }
    const bundle = deps.current();
    if (!bundle) throw new FlotillaError('NOT_FOUND', 'no policy bundle has been signed');
    const etag = bundleEtag(bundle.version);
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    if (matches(request.headers['if-none-match'], bundle.version)) return reply.code(304).send();
    return reply.type('application/jose').send(Buffer.from(bundle.bytes));
  });
}

/** RFC 9110 §13.1.2: `*`, or any listed (weak or strong) ETag equal to ours. */
function matches(header: string | undefined, version: number): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const tag = raw.trim().replace(/^W\//, '');
    return tag === '*' || tag === bundleEtag(version) || tag === String(version);
  });
}

/**
 * `POST /v1/policy/keys/rotate` (admin token): a new signing key, and the policies in force
 * re-signed with it as a new version. The previous key stays published until the next
 * rotation, so services verify whichever bundle they hold; keys older than that are retired.
 */
export function policyKeyRoutes(
  app: ServiceApp,
  ctx: Pick<ServiceContext, 'audit' | 'log'>,
  deps: {
    keyring: PolicyKeyring;
    publisher: PolicyBundlePublisher;
    requireAdmin: preHandlerAsyncHookHandler;
  },
): void {
  app.post('/v1/policy/keys/rotate', { preHandler: deps.requireAdmin }, async (_request, reply) => {
    const { kid, retired } = await deps.keyring.rotate();
    const bundle = await deps.publisher.resign();
    await ctx.audit({
      actor: 'admin',
      action: 'policy.key.rotate',
      target: kid,
      outcome: 'success',
      details: { retired, version: bundle.version },
    });
    ctx.log.info({ kid, retired, version: bundle.version }, 'policy signing key rotated');
    return reply.code(201).send({
      kid,
      version: bundle.version,
      published: deps.keyring.publicKeys().map((k) => k.kid),
      retired,
    });
  });
}
