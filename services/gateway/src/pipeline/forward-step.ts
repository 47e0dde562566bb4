import { currentTrace, FlotillaError, formatTraceparent, runWithTrace } from '@flotilla/kit';
import type { FastifyReply } from 'fastify';
import { BodyTooLargeError, limitBody } from '../edge/body-limit.js';
import {
  clientResponseHeaders,
  forwardedHeader,
  upstreamRequestHeaders,
} from '../forward/forward-headers.js';
import {
  asUpstreamFailure,
  dispatchTo,
  failureKind,
  type UpstreamRequest,
  type UpstreamResponse,
} from '../forward/upstream.js';
import { answerPermissions } from '../permissions/permissions-endpoint.js';
import { upstreamPathFor } from '../routes/route-table.js';
import type { Exchange } from './exchange.js';
import { refuse } from './refusals.js';

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/**
 * Step 9, forward: the request goes to the route's service with the caller in a form the
 * service verifies itself (never a bare header), its trace, request id and `Forwarded`; its
 * body streams through the body limit. (A built-in route is answered here by the gateway
 * itself instead: `permissions/`.) The upstream's answer (or failure) comes back to the
 * exchange, its receiver, and is written to the client here.
 */
export function forward(x: Exchange): void {
  const declared = Number(x.request.headers['content-length'] ?? 0);
  if (declared > (x.route.config.bodyLimit ?? x.deps.bodyLimit)) {
    return refuse(
      x.outcome,
      'body-too-large',
      new FlotillaError('FLT_BODY_TOO_LARGE', 'request body is larger than the limit'),
    );
  }
  // A route the gateway answers itself: every check is passed, nothing goes upstream.
  if (x.route.builtin === 'permissions') return answerPermissions(x);
  const headers = upstreamRequestHeaders(x.request.raw.headers, x.principal !== undefined);
  if (!x.principal) return dispatch(x, headers);
  const credential = x.deps.credential.headers(x.principal, x.request.raw.headers.authorization);
  if (credential instanceof Promise) x.wait(credential.then((h) => dispatch(x, Object.assign(headers, h))));
  else dispatch(x, Object.assign(headers, credential));
}

/**
 * Calls the upstream without a promise or closure of its own: the exchange is the
 * upstream's receiver, its cancellation and (through the response object) the listener
 * for the client leaving first.
 */
function dispatch(x: Exchange, headers: Record<string, string | string[]>): void {
  const { request, reply } = x;
  const raw = request.raw;
  const trace = currentTrace();
  x.trace = trace;
  if (trace) headers.traceparent = formatTraceparent(trace);
  headers['x-request-id'] = String(request.id);
  headers.forwarded = forwardedHeader(x.ip, x.secure ? 'https' : 'http', raw.headers.host);

  const hasBody =
    !BODYLESS.has(request.method) ||
    raw.headers['content-length'] !== undefined ||
    raw.headers['transfer-encoding'] !== undefined;
  const limiter = hasBody ? limitBody(x.route.config.bodyLimit ?? x.deps.bodyLimit) : undefined;
  if (limiter) {
    limiter.on('error', (err) => void (x.tooLarge = err instanceof BodyTooLargeError));
    raw.pipe(limiter);
  }
  // The client went away before the answer was written: stop the upstream call too.
  (reply.raw as ExchangeResponse)[EXCHANGE] = x;
  reply.raw.on('close', onClientClose);

  const upstreamRequest: UpstreamRequest = {
    method: request.method,
    path: upstreamPathFor(x.route, x.params) + (x.query ? `?${x.query}` : ''),
    headers,
    body: limiter,
    cancel: x,
  };
  x.started = performance.now();
  dispatchTo(x.deps.upstream, x.route, upstreamRequest, x);
}

const EXCHANGE = Symbol('flotilla.gateway.exchange');
type ExchangeResponse = FastifyReply['raw'] & { [EXCHANGE]?: Exchange };

/** A response's `close` listener, one function for all requests (no closure each). */
function onClientClose(this: ExchangeResponse): void {
  if (!this.writableFinished) this[EXCHANGE]?.cancel();
}

// The upstream's callbacks run in its connection's async context: answer in the request's
// trace (entered again, as an AsyncResource made per request would, for less).
/** The upstream answered: write its answer to the client. */
export function upstreamAnswered(x: Exchange, res: UpstreamResponse): void {
  if (x.trace) runWithTrace(x.trace, respond, x, res);
  else respond(x, res);
}

/** The upstream call failed before an answer: answer 502, 503 or 504 (or nothing, the client gone). */
export function upstreamFailed(x: Exchange, err: Error): void {
  if (x.trace) runWithTrace(x.trace, failed, x, err);
  else failed(x, err);
}

function respond(x: Exchange, res: UpstreamResponse): void {
  const { outcome, route } = x;
  outcome.upstreamMs = performance.now() - x.started;
  x.deps.metrics.upstream(route.config.service, 'response', outcome.upstreamMs / 1000);
  try {
    const out = clientResponseHeaders(res.headers);
    out['x-content-type-options'] ??= 'nosniff';
    x.reply.code(res.status).headers(out).send(res.body);
  } catch (err) {
    // As a failure of the upstream's answer (a 502), as when the answer was awaited.
    failed(x, err instanceof Error ? err : new Error(String(err)));
  }
}

function failed(x: Exchange, err: Error): void {
  const { outcome, route } = x;
  outcome.upstreamMs = performance.now() - x.started;
  if (
    x.tooLarge ||
    err instanceof BodyTooLargeError ||
    (err as Error | undefined)?.cause instanceof BodyTooLargeError
  ) {
    outcome.decision = 'body-too-large';
    return x.fail(new FlotillaError('FLT_BODY_TOO_LARGE', 'request body is larger than the limit'));
  }
  if (x.cancelled) {
    // The client left first: nothing to answer, and not an upstream failure.
    outcome.decision = 'client-closed';
    return;
  }
  const failure = asUpstreamFailure(err);
  const kind = failureKind(failure);
  x.deps.metrics.upstream(route.config.service, kind, outcome.upstreamMs / 1000);
  outcome.decision = `upstream-${kind}`;
  x.fail(failure);
}
