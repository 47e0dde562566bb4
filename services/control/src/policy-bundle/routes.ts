import { FlotillaError, peerOf, type ServiceApp } from '@flotilla/kit';
import type { FastifyRequest } from 'fastify';
import type { SignedPolicyBundle } from './publisher.js';

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
