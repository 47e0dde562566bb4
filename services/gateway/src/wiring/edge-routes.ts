import type { ServiceContext } from '@flotilla/kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GENERATED_RESPONSE_HEADERS, HSTS, hstsValue } from '../edge/security-headers.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { Pipeline, RequestOutcome } from '../pipeline/pipeline.js';

export interface EdgeRoutesOptions {
  hstsMaxAgeSec: number;
  metrics: GatewayMetrics;
  log: ServiceContext['log'];
}

/**
 * Every path and method goes to the pipeline, in a scope of its own: request bodies stream
 * to the upstream unparsed; every response gets HSTS, and the gateway's own problems the
 * other security headers; each answered request is counted and gets an access line.
 */
export async function registerEdgeRoutes(
  app: Pick<FastifyInstance, 'register'>,
  pipeline: Pipeline,
  opts: EdgeRoutesOptions,
): Promise<void> {
  const hsts = hstsValue(opts.hstsMaxAgeSec);
  const { metrics, log } = opts;
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
        if (log.isLevelEnabled('info'))
          request.log.info({ access: accessLine(request, reply, o) }, 'gateway access');
      }
      done();
    });
    scope.all('/*', (request, reply) => pipeline.handle(request, reply));
    scope.all('/', (request, reply) => pipeline.handle(request, reply));
  });
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
