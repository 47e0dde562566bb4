import type { TObject, TProperties } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { authorizeServiceCalls } from '../authz/inbound.js';
import { type BaseConfig, loadConfig } from '../config/index.js';
import type { Migration } from '../db/index.js';
import { Registration } from '../discovery/index.js';
import type { IdentitySource, MtlsClient } from '../identity/index.js';
import { secureServer, tlsOptions } from '../identity/server-tls.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { addKitRoutes, createApp, type ServiceApp } from './app.js';
import { createContext, type PolicyDecider, type ServiceContext } from './context.js';
import { openDependencies } from './dependencies.js';
import { Readiness } from './health.js';
import { Closers, gracefulStop } from './shutdown.js';

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

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

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

/**
 * Starts a service in the order a request will need it: settings and logs; its
 * dependencies (audit, database, identity, discovery); the app with the kit's routes,
 * inbound authorization and the service's routes; the listener; then its entry in the
 * registry. A failure on the way closes whatever had opened.
 */
async function startService<P extends TProperties>(
  def: ServiceDefinition<P>,
  opts: StartOptions,
): Promise<RunningService<P>> {
  const config = loadConfig(def.config, opts.env ?? process.env);
  const log = createLogger(def.name, config.LOG_LEVEL, opts.logStream);
  const readiness = new Readiness();
  const closers = new Closers();
  const deps = await openDependencies(def, config, opts, log, readiness, closers);
  const metrics = createMetrics(def.name);
  let authz: PolicyDecider | undefined;
  const ctx = createContext<P>({
    ...deps,
    name: def.name,
    config,
    log,
    metrics,
    readiness,
    closers,
    policy: () => authz,
  });

  const { identity } = deps;
  const app = createApp(config, log, identity && tlsOptions(identity.current(), config));
  addKitRoutes(app, metrics, readiness, { mtls: identity !== undefined });
  try {
    if (identity) {
      secureServer(app, identity, config);
      const inbound = await authorizeServiceCalls(app, ctx, config);
      closers.add(() => inbound.close());
      authz = inbound;
    }
    await def.routes(app, ctx);
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    // Whatever the routes opened (timers, listeners) registered its closer: undo it all.
    await app.close().catch(() => undefined);
    await closers.run(log);
    throw err;
  }
  const { url, port } = listeningAt(app, config, identity !== undefined);
  log.info({ url }, 'service ready');
  const registration = deps.client && register(deps.client, port, config, readiness, log);
  const stop = gracefulStop({ app, config, log, readiness, closers, registration });
  return { name: def.name, url, port, app: app as unknown as ServiceApp, ctx, stop };
}

/** The URL callers on this machine reach the service at (a wildcard host is reached on 127.0.0.1). */
function listeningAt(app: FastifyInstance, config: BaseConfig, tls: boolean): { url: string; port: number } {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return { url: `${tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, port };
}

/** Registers the service with the control plane's registry, heartbeating while it is ready. */
function register(
  client: MtlsClient,
  port: number,
  config: BaseConfig,
  readiness: Readiness,
  log: Logger,
): Registration | undefined {
  if (!config.FLOTILLA_CONTROL_URL) return undefined;
  const registration = new Registration(
    client,
    config.FLOTILLA_CONTROL_URL,
    {
      address:
        config.FLOTILLA_ADVERTISE_ADDRESS ??
        (config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST),
      port,
      ...(config.FLOTILLA_SERVICE_VERSION ? { version: config.FLOTILLA_SERVICE_VERSION } : {}),
      ready: async () => (await readiness.report()).status === 'ready',
    },
    log,
  );
  registration.start();
  return registration;
}
