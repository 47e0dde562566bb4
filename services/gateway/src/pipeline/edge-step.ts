import type { TLSSocket } from 'node:tls';
import { FlotillaError } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isPreflight } from '../cors/cors-policy.js';
import { GENERATED_RESPONSE_HEADERS } from '../edge/security-headers.js';
import { normalisePath } from '../routes/normalise-path.js';
import { Exchange, type PipelineDeps, type RequestOutcome } from './exchange.js';
import { refuse } from './refusals.js';

// A Host a redirect may name: a DNS name or IPv4 address, or a bracketed IPv6 literal.
const REDIRECT_HOST = /^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$/;

/**
 * Step 1, the edge: plain HTTP is redirected when the edge has HTTPS; the path is
 * normalised (or refused) and matched to a route (or to the web app, or refused with 404 or
 * 405). Returns the exchange the next steps carry the request in, the web app's reply, or
 * undefined when this step has answered.
 */
export function atEdge(
  d: PipelineDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: RequestOutcome,
): Exchange | FastifyReply | undefined {
  const raw = request.raw;
  const secure = Boolean((raw.socket as Partial<TLSSocket>).encrypted);
  const url = raw.url ?? '/';
  const httpsPort = d.httpsPort();
  if (httpsPort !== undefined && !secure) return redirectToHttps(request, reply, outcome, url, httpsPort);

  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  const norm = normalisePath(rawPath);
  if (!norm.ok) return refuse(outcome, 'bad-path', new FlotillaError('FLT_BAD_REQUEST', norm.reason));
  outcome.path = norm.path;

  // A preflight is matched as the request it announces.
  const preflight = isPreflight(request.method, request.headers);
  const method = preflight ? String(request.headers['access-control-request-method']) : request.method;
  const match = d.table.match(method, norm.segments);
  if (match.kind === 'not-found' && d.web && !preflight) {
    const served = d.web(request, reply, norm.segments);
    if (served) {
      outcome.route = 'web';
      outcome.decision = 'web';
      return served;
    }
  }
  if (match.kind === 'not-found') {
    return refuse(
      outcome,
      'not-found',
      new FlotillaError('FLT_NOT_FOUND', `no route for ${request.method} ${norm.path}`),
    );
  }
  if (match.kind === 'method-not-allowed') {
    return refuse(
      outcome,
      'method-not-allowed',
      new FlotillaError('FLT_METHOD_NOT_ALLOWED', `${method} is not allowed on ${norm.path}`, {
        headers: { allow: match.allow.join(', ') },
      }),
    );
  }
  outcome.route = match.route.id;
  return new Exchange(
    d,
    request,
    reply,
    outcome,
    match.route,
    match.params,
    query,
    secure,
    preflight ? method : undefined,
  );
}

/** RFC 9110 §15.4.9: 308 keeps the method and body. A bad `Host` is refused, not redirected to. */
function redirectToHttps(
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: RequestOutcome,
  url: string,
  httpsPort: number,
): undefined {
  outcome.decision = 'redirect-https';
  const host = (request.headers.host ?? '').replace(/:\d+$/, '');
  if (!REDIRECT_HOST.test(host)) throw new FlotillaError('FLT_BAD_REQUEST', 'bad Host header');
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  reply
    .headers(GENERATED_RESPONSE_HEADERS)
    .code(308)
    .header('location', `https://${host}${port}${url}`)
    .send();
  return undefined;
}
