import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { addFormats, type BaseConfig } from '../config/index.js';
import { FlotillaError, sendProblem, toFlotillaError } from '../errors/index.js';
import { peerOfSocket } from '../identity/peer.js';
import type { tlsOptions } from '../identity/server-tls.js';
import { instrumentHttp } from '../observability/metrics.js';
import { randomRequestId, runWithTrace, startTrace, type TraceContext } from '../observability/trace.js';
import type { Readiness } from './health.js';

/** The Fastify instance a service's routes are added to, with TypeBox schemas typed. */
export type ServiceApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

// Bodies are JSON and must match exactly; params, query and headers arrive as strings and are coerced.
const ajvOptions = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false } as const;
const bodyAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: false }));
const stringAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: 'array' }));

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const TRACE = Symbol('flotilla.trace');
type TracedRequest = IncomingMessage & { [TRACE]?: TraceContext };

/**
 * The service's Fastify app, before its routes: HTTPS with client certificates when it
 * has an identity, limits from the settings, schema validation, a request id and a trace
 * on every request (their ids on every log line), and every error as problem+json.
 */
export function createApp(
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
  traceRequests(app as unknown as FastifyInstance, log);
  answerWithProblems(app as unknown as FastifyInstance);
  return app as unknown as FastifyInstance;
}

/** Runs each request in its trace, and logs its start and end (at info). */
function traceRequests(app: FastifyInstance, log: Logger): void {
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
}

/** Every error, and every unknown route, as problem+json; 5xx logged with the error, 4xx as a refusal. */
function answerWithProblems(app: FastifyInstance): void {
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
}

/**
 * What every service answers besides its own routes: `/livez`, `/readyz`, `/metrics` (and
 * RED metrics of every route). With `mtls`, `/metrics` is for callers with a certificate
 * only, whom the fleet's policies decide on (`svc-prometheus-scrape`): a listener that takes
 * callers without one (the control plane's, auth's) must not hand them the metrics, which
 * the policies never see.
 */
export function addKitRoutes(
  app: FastifyInstance,
  metrics: Registry,
  readiness: Readiness,
  opts: { mtls: boolean } = { mtls: false },
): void {
  instrumentHttp(app, metrics);
  app.get('/livez', async () => ({ status: 'alive' }));
  app.get('/readyz', async (_req, reply) => {
    const report = await readiness.report();
    return reply.code(report.status === 'ready' ? 200 : 503).send(report);
  });
  app.get('/metrics', async (req, reply) => {
    if (opts.mtls && !peerOfSocket(req.raw.socket))
      throw new FlotillaError('FLT_UNAUTHENTICATED', 'a client certificate is required to read metrics');
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });
}
