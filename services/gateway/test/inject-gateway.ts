// The gateway's request path in-process, for Fastify `inject()` tests of its steps: the real
// pipeline, routes, CORS, throttler and Cedar decider, behind the same catch-all routes and
// hooks as the service, with in-memory stand-ins for what needs a socket (the upstream, the
// token's key set) and the kit's problem+json error handler.
import { fileURLToPath } from 'node:url';
import { type AuditEvent, createLogger, FlotillaError, PROBLEM_CONTENT_TYPE, toProblem } from '@flotilla/kit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { type Principal, principalFromClaims } from '../src/auth/principal.js';
import { forwardOriginalToken } from '../src/forward/caller-credential.js';
import type { Upstream, UpstreamRequest } from '../src/forward/upstream.js';
import { createGatewayMetrics } from '../src/observability/gateway-metrics.js';
import { builtinRoutes } from '../src/permissions/permissions-route.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { CedarDecider } from '../src/policy/cedar-decider.js';
import type { RouteDecider } from '../src/policy/route-decider.js';
import type { PermissionsConfig, RouteConfig, ThrottleConfig } from '../src/routes/route-schema.js';
import { validateRoutes } from '../src/routes/load-routes.js';
import { RouteTable } from '../src/routes/route-table.js';
import { Throttler } from '../src/throttle/throttler.js';
import { registerEdgeRoutes } from '../src/wiring/edge-routes.js';

/** The repository's policies, so that decisions are the ones the fleet ships. */
export const REPO_POLICIES = fileURLToPath(new URL('../../../policies', import.meta.url));

export interface InjectGatewayOptions {
  routes: RouteConfig[];
  throttle?: ThrottleConfig;
  /** The built-in `POST /api/permissions` (on unless `enabled: false`). */
  permissions?: PermissionsConfig;
  /** Callers by bearer token (`authorization: Bearer <token>`); any other token is refused. */
  callers?: Record<string, Principal>;
  /** Token ids (`jti`) revoked. */
  revoked?: readonly string[];
  /** The route decider; the repository's Cedar policies when omitted. */
  policy?: RouteDecider;
  /** An HTTPS edge on this port: plain-HTTP requests (all of inject's) are redirected. */
  httpsPort?: number;
  bodyLimit?: number;
}

export interface InjectGateway {
  app: FastifyInstance;
  /** What reached the upstream. */
  forwarded: UpstreamRequest[];
  /** The gateway's metrics registry. */
  registry: Registry;
  /** What was audited. */
  audited: AuditEvent[];
  close(): Promise<void>;
}

/** A caller as the authenticate step hands it on (claims as in a verified access token). */
export function caller(claims: Record<string, unknown>): Principal {
  return principalFromClaims(
    { client_id: 'web', jti: `jti-${String(claims.sub)}`, iat: 1, exp: 2, ...claims },
    'jwt',
  );
}

/**
 * Builds the gateway's path over in-memory parts. The upstream answers 200 with the method and
 * path it was asked for; tokens are looked up in `callers` (their verification has its own tests).
 *
 * @example
 * const gw = await injectGateway({ routes, callers: { alice: caller({ sub: 'alice' }) } });
 * const res = await gw.app.inject({ url: '/api/videos', headers: { authorization: 'Bearer alice' } });
 */
export async function injectGateway(opts: InjectGatewayOptions): Promise<InjectGateway> {
  const routes = validateRoutes({
    routes: opts.routes,
    ...(opts.throttle ? { throttle: opts.throttle } : {}),
    ...(opts.permissions ? { permissions: opts.permissions } : {}),
  });
  const forwarded: UpstreamRequest[] = [];
  const audited: AuditEvent[] = [];
  const cedar = opts.policy ? undefined : await CedarDecider.load({ dir: REPO_POLICIES, watch: false });
  const log = createLogger('gateway', 'silent');
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  const revoked = new Set(opts.revoked ?? []);
  const pipeline = new Pipeline({
    table: new RouteTable(routes.routes, builtinRoutes(routes, true)),
    authenticator: {
      authenticate(headers) {
        const token = /^Bearer (\S+)$/.exec(String(headers.authorization ?? ''))?.[1];
        const principal = token === undefined ? undefined : opts.callers?.[token];
        if (!principal) throw new FlotillaError('FLT_UNAUTHENTICATED', 'unknown token');
        return principal;
      },
    },
    denylist: { check: (p) => (p.jti !== undefined && revoked.has(p.jti) ? 'token revoked' : undefined) },
    policy: opts.policy ?? cedar!,
    throttler: new Throttler(routes.throttle),
    upstream: answeringUpstream(forwarded),
    credential: forwardOriginalToken,
    metrics,
    audit: async (event) => void audited.push(event),
    log,
    bodyLimit: opts.bodyLimit ?? 1024,
    httpsPort: () => opts.httpsPort,
  });
  const app = Fastify({ logger: false });
  // As the kit's error handler answers: problem+json, with the error's own headers.
  app.setErrorHandler((err, request, reply) => {
    const problem =
      err instanceof FlotillaError ? err : new FlotillaError('FLT_INTERNAL', undefined, { cause: err });
    if (problem.headers) reply.headers(problem.headers);
    return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(toProblem(problem, request));
  });
  await registerEdgeRoutes(app, pipeline, { hstsMaxAgeSec: 31_536_000, metrics, log });
  await app.ready();
  return { app, forwarded, registry, audited, close: () => app.close() };
}

function answeringUpstream(forwarded: UpstreamRequest[]): Upstream {
  return {
    dispatch: (_route, request, receiver) => {
      forwarded.push(request);
      const body = Buffer.from(JSON.stringify({ method: request.method, path: request.path }));
      receiver.upstreamResponse({
        status: 200,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        body,
      });
    },
    close: async () => undefined,
  };
}
