import type { TLSSocket } from 'node:tls';
import { currentTrace, FlotillaError, formatTraceparent } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { insufficientScope, invalidToken } from '../auth/auth-errors.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import { answerPreflight, corsResponseHeaders, isPreflight } from '../cors.js';
import { BodyTooLargeError, limitBody } from '../edge/body-limit.js';
import { GENERATED_RESPONSE_HEADERS } from '../edge/security-headers.js';
import type { WebFallback } from '../edge/web-app.js';
import type { CallerCredential } from '../forward/caller-credential.js';
import {
  clientResponseHeaders,
  forwardedHeader,
  upstreamRequestHeaders,
} from '../forward/forward-headers.js';
import { Cancellation, type Upstream, UpstreamError, type UpstreamRequest } from '../forward/upstream.js';
import type { AuditEvent } from '@flotilla/kit';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { PolicyDecider } from '../policy/policy-decider.js';
import type { Denylist } from '../revocation/denylist.js';
import { normalisePath } from '../routes/normalise-path.js';
import { type CompiledRoute, type RouteTable, upstreamPathFor } from '../routes/route-table.js';
import { rateLimitHeaders } from '../throttle/ratelimit-headers.js';
import type { ThrottleOutcome, Throttler } from '../throttle/throttler.js';

export interface PipelineDeps {
  table: RouteTable;
  authenticator: Authenticator | undefined;
  denylist: Denylist;
  policy: PolicyDecider;
  throttler: Throttler;
  upstream: Upstream;
  credential: CallerCredential;
  metrics: GatewayMetrics;
  audit: (event: AuditEvent) => Promise<unknown>;
  log: Logger;
  bodyLimit: number;
  /** The web app, for GET/HEAD requests no route matches. */
  web?: WebFallback | undefined;
  /** When it gives a port, API requests over plain HTTP are redirected to that HTTPS port. */
  httpsPort: () => number | undefined;
}

/** What the access log and metrics say about one request. */
export interface RequestOutcome {
  route: string;
  path?: string;
  decision: string;
  principal?: string;
  clientId?: string;
  throttledBy?: string;
  upstreamMs?: number;
}

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
const NO_SCOPES: readonly string[] = Object.freeze([]);

/**
 * A policy decision's context. `time` is made when a decider reads it (the gateway's
 * Cedar decider does not): no `Date` per request for nothing.
 */
class PolicyContext {
  constructor(
    readonly sourceIp: string,
    readonly mfa: boolean,
    readonly scopes: readonly string[],
    readonly requiredScopes: readonly string[],
  ) {}

  get time(): Date {
    return new Date();
  }
}

function hasScopes(granted: readonly string[], required: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (!granted.includes(required[i]!)) return false;
  return true;
}

// `User:<sub>` or `Client:<client_id>` for the access log and metrics, made once per cached principal.
const LABELS = new WeakMap<Principal, string>();
function principalLabel(p: Principal): string {
  let label = LABELS.get(p);
  if (label === undefined) LABELS.set(p, (label = `${p.type}:${p.id}`));
  return label;
}

/**
 * One request through the edge: HTTPS gate, path normalisation, route, CORS preflight,
 * IP throttle, authentication, revocation, scopes, policy, quotas, then the upstream.
 * Every refusal is a problem+json with a metric label and (for 401/403/429) an audit record.
 */
export class Pipeline {
  readonly #d: PipelineDeps;
  readonly outcomes = new WeakMap<FastifyRequest, RequestOutcome>();

  constructor(deps: PipelineDeps) {
    this.#d = deps;
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const d = this.#d;
    const outcome: RequestOutcome = { route: 'unmatched', decision: 'allow' };
    this.outcomes.set(request, outcome);
    const raw = request.raw;
    const secure = Boolean((raw.socket as Partial<TLSSocket>).encrypted);
    const url = raw.url ?? '/';
    reply.header('vary', 'Origin');

    const httpsPort = d.httpsPort();
    if (httpsPort !== undefined && !secure) {
      outcome.decision = 'redirect-https';
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$/.test(host))
        throw new FlotillaError('BAD_REQUEST', 'bad Host header');
      const port = httpsPort === 443 ? '' : `:${httpsPort}`;
      return reply
        .headers(GENERATED_RESPONSE_HEADERS)
        .code(308)
        .header('location', `https://${host}${port}${url}`)
        .send();
    }

    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const norm = normalisePath(rawPath);
    if (!norm.ok) return this.#refuse(outcome, 'bad-path', new FlotillaError('BAD_REQUEST', norm.reason));
    outcome.path = norm.path;

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
      return this.#refuse(
        outcome,
        'not-found',
        new FlotillaError('NOT_FOUND', `no route for ${request.method} ${norm.path}`),
      );
    }
    if (match.kind === 'method-not-allowed') {
      return this.#refuse(
        outcome,
        'method-not-allowed',
        new FlotillaError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${norm.path}`, {
          headers: { allow: match.allow.join(', ') },
        }),
      );
    }
    const route = match.route;
    outcome.route = route.id;
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;

    if (preflight) {
      const answer = answerPreflight(
        route.config.cors,
        route.config.method,
        origin ?? '',
        method,
        typeof request.headers['access-control-request-headers'] === 'string'
          ? request.headers['access-control-request-headers']
          : undefined,
      );
      if (!answer.ok) {
        return this.#deny(
          request,
          outcome,
          route,
          undefined,
          'cors',
          new FlotillaError('FORBIDDEN', `CORS preflight refused: ${answer.reason}`),
        );
      }
      outcome.decision = 'preflight';
      return reply.headers(GENERATED_RESPONSE_HEADERS).headers(answer.headers).code(204).send();
    }
    if (route.config.cors) reply.headers(corsResponseHeaders(route.config.cors, origin));

    const ip = request.ip;
    // Steps that can answer at once (a cached token, an in-memory decision) are not awaited:
    // each `await` is a microtask and, with the kit's trace context, a promise hook more.
    const checkedEarly = d.throttler.beforeAuth(route, ip);
    const early = checkedEarly instanceof Promise ? await checkedEarly : checkedEarly;
    if (!early.allowed) return this.#throttled(request, reply, outcome, route, undefined, early);

    let principal: Principal | undefined;
    if (route.config.auth === 'required') {
      if (!d.authenticator) throw new FlotillaError('INTERNAL', 'authentication is not configured');
      try {
        const authenticated = d.authenticator.authenticate(request.headers, query);
        principal = authenticated instanceof Promise ? await authenticated : authenticated;
      } catch (err) {
        const reason =
          err instanceof FlotillaError && err.status === 401
            ? request.headers.authorization
              ? 'invalid-token'
              : 'no-token'
            : 'auth-error';
        if (err instanceof FlotillaError && err.status < 500)
          return this.#deny(request, outcome, route, undefined, reason, err);
        throw err;
      }
      outcome.principal = principalLabel(principal);
      outcome.clientId = principal.clientId;
      const revoked = d.denylist.check(principal);
      if (revoked) return this.#deny(request, outcome, route, principal, 'revoked', invalidToken(revoked));
      if (!hasScopes(principal.scopes, route.scopes))
        return this.#deny(
          request,
          outcome,
          route,
          principal,
          'insufficient-scope',
          insufficientScope(route.scopes),
        );
    }

    const decided = d.policy.decide({
      principal,
      action: route.action,
      resource: route.resource,
      context: new PolicyContext(
        ip,
        principal ? principal.amr.includes('otp') || principal.amr.includes('mfa') : false,
        principal ? principal.scopes : NO_SCOPES,
        route.scopes,
      ),
    });
    const decision = decided instanceof Promise ? await decided : decided;
    if (decision.decision !== 'allow') {
      return this.#deny(
        request,
        outcome,
        route,
        principal,
        'policy',
        new FlotillaError('FORBIDDEN', 'denied by policy'),
        {
          reasons: decision.reasons,
          policies: decision.policies ?? [],
          ...(decision.errors?.length ? { errors: decision.errors } : {}),
        },
      );
    }

    const checked = d.throttler.afterAuth(route, principal, ip);
    const quota = checked instanceof Promise ? await checked : checked;
    const states = early.states.length === 0 ? quota.states : [...early.states, ...quota.states];
    if (!quota.allowed)
      return this.#throttled(request, reply, outcome, route, principal, { ...quota, states });
    reply.headers(rateLimitHeaders(states));

    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > d.bodyLimit) {
      return this.#refuse(
        outcome,
        'body-too-large',
        new FlotillaError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit'),
      );
    }
    return this.#forward(request, reply, outcome, route, match.params, query, principal, secure);
  }

  async #forward(
    request: FastifyRequest,
    reply: FastifyReply,
    outcome: RequestOutcome,
    route: CompiledRoute,
    params: Readonly<Record<string, string | readonly string[]>>,
    query: string,
    principal: Principal | undefined,
    secure: boolean,
  ): Promise<FastifyReply> {
    const d = this.#d;
    const raw = request.raw;
    // The upstream gets the caller in a form it verifies itself, never a bare header.
    const headers = upstreamRequestHeaders(raw.headers, principal !== undefined);
    if (principal) {
      const credential = d.credential.headers(principal, raw.headers.authorization);
      Object.assign(headers, credential instanceof Promise ? await credential : credential);
    }
    const trace = currentTrace();
    if (trace) headers.traceparent = formatTraceparent(trace);
    headers['x-request-id'] = String(request.id);
    headers.forwarded = forwardedHeader(request.ip, secure ? 'https' : 'http', raw.headers.host);

    const hasBody =
      !BODYLESS.has(request.method) ||
      raw.headers['content-length'] !== undefined ||
      raw.headers['transfer-encoding'] !== undefined;
    const limiter = hasBody ? limitBody(d.bodyLimit) : undefined;
    let tooLarge = false;
    if (limiter) {
      limiter.on('error', (err) => void (tooLarge = err instanceof BodyTooLargeError));
      raw.pipe(limiter);
    }
    const cancel = new Cancellation();
    // The client went away before the answer was written: stop the upstream call too.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) cancel.cancel();
    });

    const upstreamRequest: UpstreamRequest = {
      method: request.method,
      path: upstreamPathFor(route, params) + (query ? `?${query}` : ''),
      headers,
      body: limiter,
      cancel,
    };
    const started = performance.now();
    try {
      const res = await d.upstream.forward(route, upstreamRequest);
      outcome.upstreamMs = performance.now() - started;
      d.metrics.upstream.observe(
        { service: route.config.service, outcome: 'response' },
        outcome.upstreamMs / 1000,
      );
      const out = clientResponseHeaders(res.headers);
      out['x-content-type-options'] ??= 'nosniff';
      return reply.code(res.status).headers(out).send(res.body);
    } catch (err) {
      outcome.upstreamMs = performance.now() - started;
      if (
        tooLarge ||
        err instanceof BodyTooLargeError ||
        (err as Error | undefined)?.cause instanceof BodyTooLargeError
      ) {
        return this.#refuse(
          outcome,
          'body-too-large',
          new FlotillaError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit'),
        );
      }
      if (cancel.cancelled) {
        // The client left first: nothing to answer, and not an upstream failure.
        outcome.decision = 'client-closed';
        return reply;
      }
      const kind = err instanceof UpstreamError ? err.kind : 'bad-response';
      d.metrics.upstream.observe({ service: route.config.service, outcome: kind }, outcome.upstreamMs / 1000);
      outcome.decision = `upstream-${kind}`;
      const code =
        kind === 'unavailable'
          ? 'SERVICE_UNAVAILABLE'
          : kind === 'timeout'
            ? 'GATEWAY_TIMEOUT'
            : 'BAD_GATEWAY';
      throw new FlotillaError(code, `${route.config.service}: ${(err as Error).message}`, { cause: err });
    }
  }

  #refuse(outcome: RequestOutcome, decision: string, err: FlotillaError): never {
    outcome.decision = decision;
    throw err;
  }

  #deny(
    request: FastifyRequest,
    outcome: RequestOutcome,
    route: CompiledRoute,
    principal: Principal | undefined,
    reason: string,
    err: FlotillaError,
    details: Record<string, unknown> = {},
  ): never {
    outcome.decision = reason;
    this.#audit(request, route, principal, reason, err, details);
    throw err;
  }

  #throttled(
    request: FastifyRequest,
    reply: FastifyReply,
    outcome: RequestOutcome,
    route: CompiledRoute,
    principal: Principal | undefined,
    result: ThrottleOutcome,
  ): never {
    outcome.decision = 'throttled';
    outcome.throttledBy = result.refusedBy;
    this.#d.metrics.throttled.inc({ route: route.id, policy: result.refusedBy ?? 'unknown' });
    const err = new FlotillaError('RATE_LIMITED', `rate limit ${result.refusedBy} exceeded`, {
      headers: { 'retry-after': String(result.retryAfterSec ?? 1), ...rateLimitHeaders(result.states) },
    });
    reply.headers(err.headers ?? {});
    this.#audit(request, route, principal, 'throttled', err, { policy: result.refusedBy });
    throw err;
  }

  #audit(
    request: FastifyRequest,
    route: CompiledRoute,
    principal: Principal | undefined,
    reason: string,
    err: FlotillaError,
    details: Record<string, unknown>,
  ): void {
    // Never the token: only who (as verified), where from, what, and why.
    const event: AuditEvent = {
      actor: principal ? `${principal.type.toLowerCase()}:${principal.id}` : 'anonymous',
      action: err.status === 429 ? 'gateway.throttle' : 'gateway.deny',
      target: route.id,
      outcome: 'denied',
      reason: `${reason}: ${err.message}`,
      details: { status: err.status, ip: request.ip, clientId: principal?.clientId, ...details },
    };
    this.#d.audit(event).catch((e: unknown) => this.#d.log.error({ err: e }, 'audit append failed'));
  }
}
