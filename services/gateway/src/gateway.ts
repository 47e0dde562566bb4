import { readFileSync } from 'node:fs';
import {
  type AuditEvent,
  ConfigError,
  defineService,
  type Service,
  type ServiceApp,
  type ServiceContext,
} from '@flotilla/kit';
import { formatIssue, PolicyError } from '@flotilla/policy';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { JWTVerifyGetKey } from 'jose';
import { Authenticator } from './auth/authenticate.js';
import { Introspector } from './auth/introspection.js';
import { JwtVerifier } from './auth/verify-jwt.js';
import { gatewayConfigSchema } from './config.js';
import { startRedirectListener } from './edge/redirect-listener.js';
import { GENERATED_RESPONSE_HEADERS, HSTS, hstsValue } from './edge/security-headers.js';
import { startTlsListener } from './edge/tls-listener.js';
import { parseWebConfig, registerWebApp } from './edge/web-app.js';
import { type CallerCredential, forwardOriginalToken } from './forward/caller-credential.js';
import { KitUpstream, RoutedUpstream } from './forward/kit-upstream.js';
import { UndiciUpstream } from './forward/undici-upstream.js';
import type { Upstream } from './forward/upstream.js';
import { createGatewayMetrics } from './observability/gateway-metrics.js';
import { Pipeline, type RequestOutcome } from './pipeline/pipeline.js';
import { CedarDecider } from './policy/cedar-decider.js';
import { type PolicyDecider, scopePolicy } from './policy/policy-decider.js';
import { Denylist } from './revocation/denylist.js';
import type { RevocationSubscriber } from './revocation/events.js';
import { RedisRevocationSubscriber } from './revocation/redis-subscriber.js';
import { SseRevocationSubscriber } from './revocation/sse-subscriber.js';
import { loadRoutesFile, validateRoutes } from './routes/load-routes.js';
import type { GatewayRoutesConfig } from './routes/route-schema.js';
import { RouteTable } from './routes/route-table.js';
import { type SharedLimiters, Throttler } from './throttle/throttler.js';

type GatewayConfigProps = (typeof gatewayConfigSchema)['properties'];
export type GatewayConfig = Readonly<ServiceContext<GatewayConfigProps>['config']>;
export type GatewayContext = ServiceContext<GatewayConfigProps>;

/** What can be injected instead of being built from configuration (tests, `flotilla up`, later wiring). */
export interface GatewayDeps {
  /** Routes given in code instead of `GATEWAY_ROUTES_FILE`. */
  routes?: GatewayRoutesConfig;
  /** Replaces the plain per-service upstream (e.g. with the kit's mTLS discovery client). */
  upstream?: Upstream;
  /** Replaces the default scope policy (e.g. with `@flotilla/policy`). */
  policy?: PolicyDecider;
  /** Replaces the subscriber chosen from REDIS_URL / REVOCATION_EVENTS_URL. */
  revocations?: RevocationSubscriber;
  /** Replaces forwarding the caller's own token. */
  credential?: CallerCredential;
  /** The edge certificate and key (PEM) instead of TLS_CERT_FILE / TLS_KEY_FILE. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** A key resolver instead of fetching AUTH_JWKS_URL. */
  getKey?: JWTVerifyGetKey;
  /** Where audit events go instead of this process's trail (a cluster worker hands them to the primary). */
  audit?: (event: AuditEvent) => Promise<unknown>;
  /** Rate-limit counters shared with other processes when REDIS_URL is unset (a cluster worker's leases). */
  sharedLimiters?: SharedLimiters;
}

/** Ports and objects a running gateway exposes to `startGateway`. */
export interface GatewayRuntime {
  httpsPort?: number;
  /** The HTTPS edge as clients reach it, once listening (e.g. `https://127.0.0.1:8443`). */
  httpsUrl?: string;
  redirectPort?: number;
  denylist?: Denylist;
  revocations?: RevocationSubscriber;
}

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

async function setup(
  app: ServiceApp,
  ctx: GatewayContext,
  deps: GatewayDeps,
  runtime: GatewayRuntime,
): Promise<void> {
  const config = ctx.config;
  const routes = deps.routes
    ? validateRoutes(deps.routes)
    : config.GATEWAY_ROUTES_FILE
      ? loadRoutesFile(config.GATEWAY_ROUTES_FILE)
      : undefined;
  if (!routes)
    throw new ConfigError(
      'GATEWAY_ROUTES_FILE',
      'GATEWAY_ROUTES_FILE is required (the gateway has no routes)',
    );
  const table = new RouteTable(routes.routes);

  const authenticator = buildAuthenticator(config, deps, routes);
  // With a workload identity the kit runs the fleet's signed policy bundle (hot-reloaded):
  // decide with it, as every service does; without one, from FLOTILLA_POLICY_DIR.
  const policy =
    deps.policy ??
    (authenticator ? (ctx.policy ? CedarDecider.over(ctx.policy) : await loadCedar(ctx)) : scopePolicy);
  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    : undefined;
  if (redis) {
    redis.on('error', (err: Error) =>
      ctx.log.warn({ err: { message: err.message } }, 'redis error (throttling falls back to memory)'),
    );
    ctx.onClose(async () => void (await redis.quit().catch(() => undefined)));
  }

  const denylist = new Denylist(config.DENYLIST_TTL_S * 1000);
  const throttler = new Throttler(routes.throttle, redis, redis ? undefined : deps.sharedLimiters);
  const sweep = setInterval(() => {
    denylist.sweep();
    throttler.sweep();
  }, 60_000);
  sweep.unref();
  ctx.onClose(() => clearInterval(sweep));
  const revocations =
    deps.revocations ??
    (config.REDIS_URL
      ? new RedisRevocationSubscriber({ url: config.REDIS_URL, ttlSec: config.DENYLIST_TTL_S })
      : config.REVOCATION_EVENTS_URL
        ? new SseRevocationSubscriber({
            url: config.REVOCATION_EVENTS_URL,
            // With a workload identity the auth server serves its stream only over mTLS.
            ...(ctx.identity ? { dispatcher: () => ctx.client.agentFor('auth') } : {}),
          })
        : undefined);
  if (revocations) {
    await revocations.start((event) => denylist.apply(event));
    ctx.onClose(() => revocations.close());
    ctx.addCheck('revocations', () => {
      if (!revocations.connected) throw new Error('revocation events are not connected');
    });
  } else if (authenticator) {
    ctx.log.warn(
      'no revocation source (REDIS_URL or REVOCATION_EVENTS_URL): revoked tokens stay valid until they expire',
    );
  }

  const upstream = deps.upstream ?? buildUpstream(ctx, routes);
  ctx.onClose(() => upstream.close());

  const tls = edgeTls(ctx, deps, Boolean(authenticator));
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
    table,
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

  const hsts = hstsValue(config.HSTS_MAX_AGE_S);
  await app.register(async (scope) => {
    // Bodies are streamed to the upstream untouched, never parsed here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // Callback hooks, not async ones: no promise per request for work that never waits.
    scope.addHook('onSend', (_request, reply, payload, done) => {
      reply.header(HSTS, hsts);
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/problem+json'))
        reply.headers(GENERATED_RESPONSE_HEADERS);
      done(null, payload);
    });
    scope.addHook('onResponse', (request, reply, done) => {
      const o = pipeline.outcomes.get(request);
      if (o) {
        metrics.request(o.route, reply.statusCode, o.decision);
        // The access line: no query string, no headers, no token; the caller as verified.
        if (ctx.log.isLevelEnabled('info'))
          request.log.info({ access: accessLine(request, reply, o) }, 'gateway access');
      }
      done();
    });
    scope.all('/*', (request, reply) => pipeline.handle(request, reply));
    scope.all('/', (request, reply) => pipeline.handle(request, reply));
  });

  if (tls) {
    app.addHook('onReady', async () => {
      const listener = await startTlsListener((req, res) => app.routing(req, res), {
        host: config.TLS_HOST ?? config.HOST,
        port: config.TLS_PORT,
        key: tls.material.key,
        cert: tls.material.cert,
        maxHeaderSize: config.MAX_HEADER_BYTES,
        requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
        headersTimeoutMs: Math.min(
          config.HEADERS_TIMEOUT_MS,
          config.REQUEST_TIMEOUT_MS || config.HEADERS_TIMEOUT_MS,
        ),
      });
      runtime.httpsPort = listener.port;
      runtime.httpsUrl = `https://${urlHost(config.TLS_HOST ?? config.HOST)}:${listener.port}`;
      // A renewed workload certificate is served to new connections at once; open ones keep theirs.
      const offChange = tls.onChange?.((m) =>
        listener.server.setSecureContext({ key: m.key, cert: m.cert, minVersion: 'TLSv1.2' }),
      );
      ctx.onClose(() => offChange?.());
      ctx.onClose(() => listener.close(config.SHUTDOWN_TIMEOUT_MS));
      if (config.HTTP_REDIRECT_PORT !== undefined) {
        const redirect = await startRedirectListener({
          host: config.HOST,
          port: config.HTTP_REDIRECT_PORT,
          httpsPort: config.PUBLIC_HTTPS_PORT ?? listener.port,
          hstsMaxAgeSec: config.HSTS_MAX_AGE_S,
          maxHeaderSize: config.MAX_HEADER_BYTES,
        });
        runtime.redirectPort = redirect.port;
        ctx.onClose(() => redirect.close());
      }
      ctx.log.info(
        {
          httpsPort: listener.port,
          redirectPort: runtime.redirectPort,
          certificate: tls.source,
        },
        'gateway edge listening',
      );
    });
  }
}

function accessLine(request: FastifyRequest, reply: FastifyReply, o: RequestOutcome) {
  return {
    method: request.method,
    route: o.route,
    path: o.path,
    status: reply.statusCode,
    decision: o.decision,
    principal: o.principal,
    clientId: o.clientId,
    throttledBy: o.throttledBy,
    upstreamMs: o.upstreamMs === undefined ? undefined : Math.round(o.upstreamMs * 10) / 10,
    ms: Math.round(reply.elapsedTime * 10) / 10,
  };
}

function buildAuthenticator(
  config: GatewayConfig,
  deps: GatewayDeps,
  routes: GatewayRoutesConfig,
): Authenticator | undefined {
  if (!routes.routes.some((r) => r.auth === 'required')) return undefined;
  for (const setting of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
    if (!config[setting])
      throw new ConfigError(setting, `${setting} is required when a route requires authentication`);
  }
  const jwksUrl = config.AUTH_JWKS_URL;
  const jwt =
    jwksUrl || deps.getKey
      ? new JwtVerifier({
          issuer: config.AUTH_ISSUER!,
          audience: config.AUTH_AUDIENCE!,
          jwksUrl: jwksUrl ?? 'http://unused.invalid/',
          clockToleranceSec: config.JWT_CLOCK_TOLERANCE_S,
          jwksCooldownMs: config.JWKS_COOLDOWN_MS,
          jwksCacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS,
          jwksTimeoutMs: config.JWKS_TIMEOUT_MS,
          cacheSize: config.TOKEN_CACHE_SIZE,
          ...(deps.getKey ? { getKey: deps.getKey } : {}),
        })
      : undefined;
  let introspector: Introspector | undefined;
  if (config.INTROSPECTION_URL) {
    if (!config.INTROSPECTION_CLIENT_ID || !config.INTROSPECTION_CLIENT_SECRET) {
      throw new ConfigError(
        'INTROSPECTION_CLIENT_ID',
        'INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET are required with INTROSPECTION_URL',
      );
    }
    introspector = new Introspector({
      url: config.INTROSPECTION_URL,
      clientId: config.INTROSPECTION_CLIENT_ID,
      clientSecret: config.INTROSPECTION_CLIENT_SECRET,
      cacheMs: config.INTROSPECTION_CACHE_MS,
      cacheSize: config.TOKEN_CACHE_SIZE,
      timeoutMs: config.JWKS_TIMEOUT_MS,
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
    });
  }
  if (!jwt && !introspector)
    throw new ConfigError(
      'AUTH_JWKS_URL',
      'AUTH_JWKS_URL (or INTROSPECTION_URL) is required when a route requires authentication',
    );
  return new Authenticator(jwt, introspector);
}

/**
 * Services with a configured URL are called over plain HTTP(S); with a workload identity
 * and a control plane, every other service goes through the kit (discovery + mTLS).
 */
function buildUpstream(ctx: GatewayContext, routes: GatewayRoutesConfig): Upstream {
  const urls = upstreamUrls(ctx.config, routes);
  const plain = new UndiciUpstream({ services: urls, timeoutMs: ctx.config.UPSTREAM_TIMEOUT_MS });
  if (!ctx.identity || !ctx.config.FLOTILLA_CONTROL_URL) return plain;
  const kit = new KitUpstream(
    (service, request, handler) => ctx.dispatch(service, request, handler),
    ctx.config.UPSTREAM_TIMEOUT_MS,
  );
  return new RoutedUpstream(plain, Object.keys(urls), kit);
}

function upstreamUrls(config: GatewayConfig, routes: GatewayRoutesConfig): Record<string, string> {
  const fromEnv = Object.fromEntries(
    (config.GATEWAY_UPSTREAMS ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  return { ...routes.upstreams, ...fromEnv };
}

/**
 * The Cedar policies from `FLOTILLA_POLICY_DIR`, reloaded on change (a broken edit keeps
 * the previous set in force). A set that does not load refuses the start.
 */
async function loadCedar(ctx: GatewayContext): Promise<CedarDecider> {
  const dir = ctx.config.FLOTILLA_POLICY_DIR;
  let cedar: CedarDecider;
  try {
    cedar = await CedarDecider.load({
      dir,
      onReload: (version) => ctx.log.info({ dir, version }, 'gateway policies reloaded'),
      onReloadError: (err) =>
        ctx.log.warn({ err: policyProblem(err) }, 'gateway policy reload failed; keeping the previous set'),
    });
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_POLICY_DIR',
      `FLOTILLA_POLICY_DIR: the policies in ${dir} do not load: ${policyProblem(err)}`,
    );
  }
  ctx.onClose(() => cedar.close());
  ctx.log.info({ dir }, 'gateway policies loaded');
  return cedar;
}

function policyProblem(err: unknown): string {
  if (err instanceof PolicyError && err.issues.length > 0) return err.issues.map(formatIssue).join('; ');
  return err instanceof Error ? err.message : String(err);
}

/** The edge certificate: given, from files, or the workload identity (renewed in place). */
interface EdgeTls {
  material: { cert: string | Buffer; key: string | Buffer };
  source: 'injected' | 'files' | 'workload-identity';
  onChange?: (listener: (m: { cert: string; key: string }) => void) => () => void;
}

function edgeTls(ctx: GatewayContext, deps: GatewayDeps, needsAuth: boolean): EdgeTls | undefined {
  if (deps.tls) return { material: deps.tls, source: 'injected' };
  const files = readTls(ctx.config);
  if (files) return { material: files, source: 'files' };
  const identity = ctx.identity;
  if (identity) {
    // The control plane's certificate names localhost and 127.0.0.1 with serverAuth; at the
    // edge it is served without asking browsers for a client certificate.
    const { key, cert } = identity.current();
    return {
      material: { key, cert },
      source: 'workload-identity',
      onChange: (listener) => identity.onChange((m) => listener({ key: m.key, cert: m.cert })),
    };
  }
  if (needsAuth) {
    throw new ConfigError(
      'TLS_CERT_FILE',
      'TLS_CERT_FILE and TLS_KEY_FILE (or a workload identity from FLOTILLA_CONTROL_URL) are required when a route requires authentication: tokens never cross plain HTTP',
    );
  }
  return undefined;
}

/** A listen address as a URL host: wildcard addresses become loopback, IPv6 is bracketed. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function readTls(config: GatewayConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.TLS_CERT_FILE && !config.TLS_KEY_FILE) return undefined;
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) {
    throw new ConfigError('TLS_CERT_FILE', 'TLS_CERT_FILE and TLS_KEY_FILE go together');
  }
  try {
    return { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) };
  } catch (err) {
    throw new ConfigError(
      'TLS_CERT_FILE',
      `cannot read the edge certificate or key (${(err as Error).message})`,
    );
  }
}
