import { defineService, type Service, type ServiceApp } from '@flotilla/kit';
import { type GatewayContext, gatewayConfigSchema } from './config.js';
import { parseWebConfig, registerWebApp } from './edge/web-app.js';
import { forwardOriginalToken } from './forward/caller-credential.js';
import { createGatewayMetrics } from './observability/gateway-metrics.js';
import { builtinRoutes } from './permissions/permissions-route.js';
import { Pipeline } from './pipeline/pipeline.js';
import { RouteTable } from './routes/route-table.js';
import { buildAuthenticator } from './wiring/authentication.js';
import { edgeTls } from './wiring/edge-tls.js';
import { registerEdgeRoutes } from './wiring/edge-routes.js';
import type { GatewayDeps, GatewayRuntime } from './wiring/gateway-deps.js';
import { serveHttpsEdge } from './wiring/https-edge.js';
import { startRevocations } from './wiring/revocations.js';
import { buildRouteDecider } from './wiring/route-policy.js';
import { loadRoutes } from './wiring/routes-config.js';
import { buildThrottler } from './wiring/throttling.js';
import { buildUpstream } from './wiring/upstream.js';

export type { GatewayDeps, GatewayRuntime } from './wiring/gateway-deps.js';

type GatewayConfigProps = (typeof gatewayConfigSchema)['properties'];

/**
 * The gateway's service definition. `deps` lets tests and the CLI inject parts; with none,
 * everything comes from configuration.
 *
 * @example
 * await runService(createGatewayService());
 */
export function createGatewayService(
  deps: GatewayDeps = {},
  runtime: GatewayRuntime = {},
): Service<GatewayConfigProps> {
  return defineService({
    name: 'gateway',
    config: gatewayConfigSchema,
    routes: (app, ctx) => setup(app, ctx, deps, runtime),
  });
}

/**
 * The gateway's composition, in the order of the request path: routes, authentication,
 * the decision on each route's action, throttling, revocations, the upstream; then the
 * pipeline over them, on every path, and the HTTPS edge in front. Each part is built by
 * its own module in `wiring/`; a part that cannot be built refuses the start.
 */
async function setup(
  app: ServiceApp,
  ctx: GatewayContext,
  deps: GatewayDeps,
  runtime: GatewayRuntime,
): Promise<void> {
  const config = ctx.config;
  const routes = loadRoutes(config, deps);
  const authenticator = buildAuthenticator(config, deps, routes.config);
  const builtins = builtinRoutes(routes.config, authenticator !== undefined);
  const policy = await buildRouteDecider(ctx, deps, routes, builtins, authenticator !== undefined);
  const throttler = await buildThrottler(ctx, routes.config.throttle, deps.sharedLimiters);
  const { denylist, revocations } = await startRevocations(ctx, deps, authenticator !== undefined);
  const upstream = deps.upstream ?? buildUpstream(ctx, routes.config);
  ctx.onClose(() => upstream.close());
  const tls = edgeTls(ctx, deps, authenticator !== undefined);
  const webConfig = parseWebConfig(config.GATEWAY_WEB_CONFIG);
  const web = config.GATEWAY_WEB_DIR
    ? await registerWebApp(app, {
        dir: config.GATEWAY_WEB_DIR,
        config: webConfig,
        issuer: config.AUTH_ISSUER,
      })
    : undefined;
  const metrics = createGatewayMetrics(ctx.metrics);
  const pipeline = new Pipeline({
    table: new RouteTable(routes.config.routes, builtins),
    authenticator,
    denylist,
    policy,
    throttler,
    upstream,
    web,
    credential: deps.credential ?? forwardOriginalToken,
    metrics,
    audit: deps.audit ?? ((event) => ctx.audit(event)),
    log: ctx.log,
    bodyLimit: config.BODY_LIMIT,
    // The port clients use, once the HTTPS listener is up (TLS_PORT may be 0 in tests).
    httpsPort: () => (tls ? (config.PUBLIC_HTTPS_PORT ?? runtime.httpsPort) : undefined),
  });
  runtime.denylist = denylist;
  runtime.revocations = revocations;
  await registerEdgeRoutes(app, pipeline, { hstsMaxAgeSec: config.HSTS_MAX_AGE_S, metrics, log: ctx.log });
  if (tls) serveHttpsEdge(app, ctx, tls, runtime);
}
