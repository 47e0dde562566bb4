import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static, TObject, TProperties } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Decision, DecisionRequest } from '@flotilla/policy';
import { type AuditEvent, AuditLog, type AuditRecord } from './audit/index.js';
import { addFormats, type BaseConfig, loadConfig } from './config.js';
import { type Db, type Migration, openDb, readMigrations } from './db/index.js';
import { FlotillaError } from './errors/index.js';
import { type IdentitySource, MtlsClient } from './identity/index.js';
import { joinControlPlane } from './identity/join.js';
import { secureServer, tlsOptions } from './identity/server-tls.js';
import { authorizeServiceCalls } from './authz/inbound.js';
import {
  type CallRequest,
  Catalog,
  type DispatchCall,
  Registration,
  ServiceClient,
} from './discovery/index.js';
import type { Dispatcher } from 'undici';
import { type HealthCheck, runChecks } from './health.js';
import { createLogger } from './logger.js';
import { createMetrics, instrumentHttp } from './metrics.js';
import { sendProblem, toFlotillaError } from './errors/index.js';
import { randomRequestId, runWithTrace, startTrace, type TraceContext } from './trace.js';

/** The Fastify instance a service's routes are added to, with TypeBox schemas typed. */
export type ServiceApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What a service's code gets from the kit. */
export interface ServiceContext<P extends TProperties = TProperties> {
  readonly name: string;
  readonly config: Readonly<BaseConfig & Static<TObject<P>>>;
  readonly log: Logger;
  /** The service's database; present when the definition has `migrations` or `database: true`. */
  readonly db: Db;
  readonly metrics: Registry;
  /** Records a security event in the service's hash-chained audit trail. */
  audit(event: AuditEvent): Promise<AuditRecord>;
  /** Adds a readiness check; `/readyz` is 503 while any check fails. */
  addCheck(name: string, check: HealthCheck): void;
  /** Runs at shutdown, after the server has drained, in reverse order of registration. */
  onClose(fn: () => Promise<void> | void): void;
  /** This service's workload identity; undefined when it runs without a control plane (plain HTTP). */
  readonly identity: IdentitySource | undefined;
  /** mTLS client for calls to other services; throws without an identity (no identity, no calls). */
  readonly client: MtlsClient;
  /**
   * Calls another service by name: discovery, load balancing, outlier ejection, retries of
   * idempotent requests within a budget, circuit breaking, mTLS with the SPIFFE check.
   */
  call(service: string, request: CallRequest): Promise<Dispatcher.ResponseData>;
  /**
   * `call` for a bodiless request without promises (a proxy's hot path): the response, or
   * the failure as a `FlotillaError`, goes to `handler` on undici's dispatch API.
   */
  dispatch(service: string, request: DispatchCall, handler: Dispatcher.DispatchHandler): void;
  /**
   * The fleet's policies in force in this service — the control plane's signed bundle,
   * hot-reloaded, or FLOTILLA_POLICY_DIR without one — for the service's own checks
   * (`openUserAccess` uses it). Undefined without a workload identity, and until `routes` runs.
   */
  readonly policy: PolicyDecider | undefined;
}

/** Decides under a policy set; any error is a deny. */
export interface PolicyDecider {
  decide(request: DecisionRequest): Decision;
  /** Changes whenever another policy set comes into force (for callers that memoise allows). */
  readonly version: number;
}

export interface ServiceDefinition<P extends TProperties = TProperties> {
  /** Lower-case letters, digits and dashes; it becomes the identity, schema and folder name. */
  name: string;
  /** Settings of this service on top of the kit's (read from the environment). */
  config?: TObject<P>;
  /** Schema migrations: a list, or a folder of `NNN_name.sql` files. */
  migrations?: readonly Migration[] | { dir: string | URL };
  /** Open a database even without migrations. */
  database?: boolean;
  routes: (app: ServiceApp, ctx: ServiceContext<P>) => void | Promise<void>;
}

export interface StartOptions {
  /** Settings; `process.env` when omitted. */
  env?: Record<string, string | undefined>;
  /** Where log lines go (stdout by default). */
  logStream?: DestinationStream;
  /** Keep PGlite in memory instead of under FLOTILLA_HOME (tests). */
  inMemoryDb?: boolean;
  /** Serve mTLS with this identity instead of joining the control plane (the control plane itself, tests). */
  identity?: IdentitySource;
}

export interface RunningService<P extends TProperties = TProperties> {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly app: ServiceApp;
  readonly ctx: ServiceContext<P>;
  /** Drains and stops; safe to call more than once. */
  stop(): Promise<void>;
}

export interface Service<P extends TProperties = TProperties> {
  readonly name: string;
  start(opts?: StartOptions): Promise<RunningService<P>>;
}

// Bodies are JSON and must match exactly; params, query and headers arrive as strings and are coerced.
const ajvOptions = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false } as const;
const bodyAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: false }));
const stringAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: 'array' }));

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const TRACE = Symbol('flotilla.trace');
type TracedRequest = IncomingMessage & { [TRACE]?: TraceContext };

/**
 * Defines a service. The kit adds configuration, logs, health, metrics, problem+json
 * errors, audit, database and graceful shutdown; the definition adds routes.
 *
 * @example
 * export const hello = defineService({
 *   name: 'hello',
 *   routes(app) {
 *     app.get('/hello', async () => ({ hello: 'world' }));
 *   },
 * });
 */
export function defineService<P extends TProperties = TProperties>(def: ServiceDefinition<P>): Service<P> {
  if (!NAME.test(def.name)) {
    throw new TypeError(`service name "${def.name}" must be lower-case letters, digits and dashes`);
  }
  return { name: def.name, start: (opts) => startService(def, opts ?? {}) };
}

async function startService<P extends TProperties>(
  def: ServiceDefinition<P>,
  opts: StartOptions,
): Promise<RunningService<P>> {
  const config = loadConfig(def.config, opts.env ?? process.env);
  const log = createLogger(def.name, config.LOG_LEVEL, opts.logStream);
  const closers: Array<() => Promise<void> | void> = [];
  const checks = new Map<string, HealthCheck>();
  let draining = false;

  const audit = await AuditLog.open(join(config.FLOTILLA_HOME, 'audit', `${def.name}.jsonl`), def.name);
  closers.push(() => audit.close());
  // The database (opened and migrated) and the identity (a CSR signed by the control
  // plane) do not depend on each other: both are waited for at once.
  const [dbResult, idResult] = await Promise.allSettled([
    openServiceDb(def, config, opts),
    opts.identity ? Promise.resolve(opts.identity) : joinControlPlane(def.name, config, log),
  ]);
  const db = dbResult.status === 'fulfilled' ? dbResult.value : undefined;
  if (db) {
    closers.push(() => db.close());
    checks.set('database', async () => void (await db.query('SELECT 1')));
  }
  const identity = idResult.status === 'fulfilled' ? idResult.value : undefined;
  if (identity) closers.push(() => identity.stop());
  if (dbResult.status === 'rejected' || idResult.status === 'rejected') {
    await runClosers(closers, log);
    throw dbResult.status === 'rejected' ? dbResult.reason : (idResult as PromiseRejectedResult).reason;
  }
  let client: MtlsClient | undefined;
  if (identity) {
    const id = identity;
    checks.set('identity', () => id.check());
    client = new MtlsClient(id);
    const c = client;
    closers.push(() => c.close());
  }

  let discovery: { catalog: Catalog; services: ServiceClient } | undefined;
  if (client && identity && config.FLOTILLA_CONTROL_URL) {
    const catalog = new Catalog(client, config.FLOTILLA_CONTROL_URL, identity, log);
    catalog.start();
    closers.push(() => catalog.stop());
    discovery = {
      catalog,
      services: new ServiceClient(catalog, client, { balancer: config.FLOTILLA_BALANCER }),
    };
  }

  const metrics = createMetrics(def.name);
  let authz: PolicyDecider | undefined;
  const ctx: ServiceContext<P> = {
    name: def.name,
    config,
    log,
    get db(): Db {
      if (!db) throw new Error(`service ${def.name} has no database: declare migrations or database: true`);
      return db;
    },
    metrics,
    audit: (event) => audit.append(event),
    addCheck: (name, check) => void checks.set(name, check),
    onClose: (fn) => void closers.push(fn),
    identity,
    get client(): MtlsClient {
      if (!client)
        throw new Error(`service ${def.name} has no workload identity, so it may not call other services`);
      return client;
    },
    async call(service, request) {
      if (!discovery)
        throw new Error(`service ${def.name} has no control plane, so it cannot discover ${service}`);
      await discovery.catalog.ready();
      return discovery.services.call(service, request);
    },
    dispatch(service, request, handler) {
      if (!discovery)
        throw new Error(`service ${def.name} has no control plane, so it cannot discover ${service}`);
      const { catalog, services } = discovery;
      if (catalog.isSynced) return services.dispatch(service, request, handler);
      // Before the first snapshot, as `call` does: wait for it (at most 5 s), then go on.
      void catalog.ready().then(() => services.dispatch(service, request, handler));
    },
    get policy() {
      return authz;
    },
  };

  const app = createApp(config, log, identity && tlsOptions(identity.current(), config));
  instrumentHttp(app, metrics);
  app.get('/livez', async () => ({ status: 'alive' }));
  app.get('/readyz', async (_req, reply) => {
    const report = await runChecks(checks, draining);
    return reply.code(report.status === 'ready' ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  try {
    if (identity) {
      secureServer(app, identity, config);
      const inbound = await authorizeServiceCalls(app, ctx, config);
      closers.push(() => inbound.close());
      authz = inbound;
    }
    await def.routes(app, ctx);
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    // Whatever the routes opened (timers, listeners) registered its closer: undo it all.
    await app.close().catch(() => undefined);
    await runClosers(closers, log);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `${identity ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.info({ url }, 'service ready');

  let registration: Registration | undefined;
  if (client && config.FLOTILLA_CONTROL_URL) {
    registration = new Registration(
      client,
      config.FLOTILLA_CONTROL_URL,
      {
        address:
          config.FLOTILLA_ADVERTISE_ADDRESS ??
          (config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST),
        port,
        ...(config.FLOTILLA_SERVICE_VERSION ? { version: config.FLOTILLA_SERVICE_VERSION } : {}),
        ready: async () => (await runChecks(checks, draining)).status === 'ready',
      },
      log,
    );
    registration.start();
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      draining = true;
      if (registration) {
        // Leave the registry before draining, and give callers a moment to hear of it.
        await registration.deregister();
        await new Promise((r) => setTimeout(r, config.FLOTILLA_DEREGISTER_DELAY_MS));
      }
      log.info('shutting down: draining in-flight requests');
      await closeWithDeadline(app, config.SHUTDOWN_TIMEOUT_MS, log);
      await runClosers(closers, log);
      log.info('stopped');
    })();
    return stopping;
  };
  return { name: def.name, url, port, app: app as unknown as ServiceApp, ctx, stop };
}

async function openServiceDb<P extends TProperties>(
  def: ServiceDefinition<P>,
  config: BaseConfig,
  opts: StartOptions,
): Promise<Db | undefined> {
  if (!def.migrations && !def.database) return undefined;
  const migrations = !def.migrations
    ? []
    : 'dir' in def.migrations
      ? await readMigrations(
          def.migrations.dir instanceof URL ? def.migrations.dir.pathname : def.migrations.dir,
        )
      : def.migrations;
  return openDb({
    service: def.name,
    url: config.DATABASE_URL,
    home: config.FLOTILLA_HOME,
    inMemory: opts.inMemoryDb ?? false,
    hosted: config.FLOTILLA_DB === 'host',
    migrations,
  });
}

function createApp(
  config: BaseConfig,
  log: Logger,
  https: ReturnType<typeof tlsOptions> | undefined,
): FastifyInstance {
  const app = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: log,
    // Request and trace ids come from the async context (see logger mixin), not a child binding.
    childLoggerFactory: (logger) => logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    genReqId(raw) {
      const header = raw.headers['x-request-id'];
      const id = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomRequestId();
      (raw as TracedRequest)[TRACE] = startTrace(raw.headers.traceparent, id);
      return id;
    },
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : stringAjv).compile(schema),
  );
  // The rest of the request runs in its trace; the function is shared (no closure per request).
  const inTrace = (request: FastifyRequest, done: HookHandlerDoneFunction) => {
    if (log.isLevelEnabled('info')) request.log.info({ req: request }, 'incoming request');
    done();
  };
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const trace = (request.raw as TracedRequest)[TRACE] ?? startTrace(undefined);
    runWithTrace(trace, inTrace, request, done);
  });
  // Callback hooks, not async ones: no promise per request for work that never waits.
  app.addHook('onResponse', (request, reply, done) => {
    if (log.isLevelEnabled('info'))
      request.log.info(
        { statusCode: reply.statusCode, responseTime: reply.elapsedTime },
        'request completed',
      );
    done();
  });
  app.setErrorHandler((err, request, reply) => {
    const problem = toFlotillaError(err);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: problem.code, detail: problem.message }, 'request refused');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new FlotillaError('FLT_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  return app as unknown as FastifyInstance;
}

async function closeWithDeadline(app: FastifyInstance, deadlineMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const closing = app.close();
  if ((await Promise.race([closing, deadline])) === 'deadline') {
    log.warn({ deadlineMs }, 'shutdown deadline passed: closing remaining connections');
    app.server.closeAllConnections();
  }
  clearTimeout(timer);
  await closing;
}

async function runClosers(closers: Array<() => Promise<void> | void>, log: Logger): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (err) {
      log.error({ err }, 'error while closing a dependency');
    }
  }
}
