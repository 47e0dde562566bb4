import type { TLSSocket } from 'node:tls';
import {
  currentTrace,
  FlotillaError,
  formatTraceparent,
  runWithTrace,
  type TraceContext,
} from '@flotilla/kit';
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
import {
  asUpstreamFailure,
  Cancellation,
  dispatchTo,
  failureKind,
  type Upstream,
  type UpstreamReceiver,
  type UpstreamRequest,
  type UpstreamResponse,
} from '../forward/upstream.js';
import type { AuditEvent } from '@flotilla/kit';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { PolicyDecider, PolicyDecision } from '../policy/policy-decider.js';
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

  /**
   * Handles one request. Returns undefined (the reply is sent, or will be when the upstream
   * answers: Fastify waits for it) or the web app's reply; throws a refusal at once. Steps
   * that can answer at once (a cached token, an in-memory decision) continue without a
   * promise; only a step that is pending (Redis, a JWKS fetch, a remote decision) puts the
   * rest of the request on one, and its failure is sent from there.
   */
  handle(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
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
        throw new FlotillaError('FLT_BAD_REQUEST', 'bad Host header');
      const port = httpsPort === 443 ? '' : `:${httpsPort}`;
      reply
        .headers(GENERATED_RESPONSE_HEADERS)
        .code(308)
        .header('location', `https://${host}${port}${url}`)
        .send();
      return undefined;
    }

    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const norm = normalisePath(rawPath);
    if (!norm.ok) return this.#refuse(outcome, 'bad-path', new FlotillaError('FLT_BAD_REQUEST', norm.reason));
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
        new FlotillaError('FLT_NOT_FOUND', `no route for ${request.method} ${norm.path}`),
      );
    }
    if (match.kind === 'method-not-allowed') {
      return this.#refuse(
        outcome,
        'method-not-allowed',
        new FlotillaError('FLT_METHOD_NOT_ALLOWED', `${method} is not allowed on ${norm.path}`, {
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
          new FlotillaError('FLT_FORBIDDEN', `CORS preflight refused: ${answer.reason}`),
        );
      }
      outcome.decision = 'preflight';
      reply.headers(GENERATED_RESPONSE_HEADERS).headers(answer.headers).code(204).send();
      return undefined;
    }
    if (route.config.cors) reply.headers(corsResponseHeaders(route.config.cors, origin));

    const x = new Exchange(d, request, reply, outcome, route, match.params, query, secure);
    const early = d.throttler.beforeAuth(route, x.ip);
    if (early instanceof Promise)
      this.#later(
        x,
        early.then((e) => this.#authenticate(x, e)),
      );
    else this.#authenticate(x, early);
    return undefined;
  }

  /** The rest of the request waits on `pending`: its failure is sent as the answer. */
  #later(x: Exchange, pending: Promise<void>): void {
    pending.catch((err: unknown) => x.fail(err));
  }

  #authenticate(x: Exchange, early: ThrottleOutcome): void {
    if (!early.allowed) return this.#throttled(x.request, x.reply, x.outcome, x.route, undefined, early);
    x.early = early;
    if (x.route.config.auth !== 'required') return this.#authorize(x, undefined);
    const d = this.#d;
    if (!d.authenticator) throw new FlotillaError('FLT_INTERNAL', 'authentication is not configured');
    let authenticated: Principal | Promise<Principal>;
    try {
      authenticated = d.authenticator.authenticate(x.request.headers, x.query);
    } catch (err) {
      return this.#authFailed(x, err);
    }
    if (authenticated instanceof Promise)
      this.#later(
        x,
        authenticated.then(
          (p) => this.#authorize(x, p),
          (err: unknown) => this.#authFailed(x, err),
        ),
      );
    else this.#authorize(x, authenticated);
  }

  #authFailed(x: Exchange, err: unknown): never {
    const reason =
      err instanceof FlotillaError && err.status === 401
        ? x.request.headers.authorization
          ? 'invalid-token'
          : 'no-token'
        : 'auth-error';
    if (err instanceof FlotillaError && err.status < 500)
      return this.#deny(x.request, x.outcome, x.route, undefined, reason, err);
    throw err;
  }

  #authorize(x: Exchange, principal: Principal | undefined): void {
    const { request, outcome, route } = x;
    const d = this.#d;
    x.principal = principal;
    if (principal) {
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
        x.ip,
        principal ? principal.amr.includes('otp') || principal.amr.includes('mfa') : false,
        principal ? principal.scopes : NO_SCOPES,
        route.scopes,
      ),
    });
    if (decided instanceof Promise)
      this.#later(
        x,
        decided.then((dd) => this.#decided(x, dd)),
      );
    else this.#decided(x, decided);
  }

  #decided(x: Exchange, decision: PolicyDecision): void {
    if (decision.decision !== 'allow') {
      return this.#deny(
        x.request,
        x.outcome,
        x.route,
        x.principal,
        'policy',
        new FlotillaError('FLT_FORBIDDEN', 'denied by policy'),
        {
          reasons: decision.reasons,
          policies: decision.policies ?? [],
          ...(decision.errors?.length ? { errors: decision.errors } : {}),
        },
      );
    }
    const checked = this.#d.throttler.afterAuth(x.route, x.principal, x.ip);
    if (checked instanceof Promise)
      this.#later(
        x,
        checked.then((quota) => this.#admitted(x, quota)),
      );
    else this.#admitted(x, checked);
  }

  #admitted(x: Exchange, quota: ThrottleOutcome): void {
    const early = x.early!;
    const states = early.states.length === 0 ? quota.states : [...early.states, ...quota.states];
    if (!quota.allowed)
      return this.#throttled(x.request, x.reply, x.outcome, x.route, x.principal, { ...quota, states });
    x.reply.headers(rateLimitHeaders(states));

    const declared = Number(x.request.headers['content-length'] ?? 0);
    if (declared > (x.route.config.bodyLimit ?? this.#d.bodyLimit)) {
      return this.#refuse(
        x.outcome,
        'body-too-large',
        new FlotillaError('FLT_BODY_TOO_LARGE', 'request body is larger than the limit'),
      );
    }
    // The upstream gets the caller in a form it verifies itself, never a bare header.
    const headers = upstreamRequestHeaders(x.request.raw.headers, x.principal !== undefined);
    if (!x.principal) return this.#forward(x, headers);
    const credential = this.#d.credential.headers(x.principal, x.request.raw.headers.authorization);
    if (credential instanceof Promise)
      this.#later(
        x,
        credential.then((h) => this.#forward(x, Object.assign(headers, h))),
      );
    else this.#forward(x, Object.assign(headers, credential));
  }

  /**
   * Calls the upstream without a promise or closure of its own: the exchange is the
   * upstream's receiver, its cancellation and (through the response object) the listener
   * for the client leaving first.
   */
  #forward(x: Exchange, headers: Record<string, string | string[]>): void {
    const d = this.#d;
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
    const limiter = hasBody ? limitBody(x.route.config.bodyLimit ?? d.bodyLimit) : undefined;
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
    dispatchTo(d.upstream, x.route, upstreamRequest, x);
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
    const err = new FlotillaError('FLT_RATE_LIMITED', `rate limit ${result.refusedBy} exceeded`, {
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

const EXCHANGE = Symbol('flotilla.gateway.exchange');
type ExchangeResponse = FastifyReply['raw'] & { [EXCHANGE]?: Exchange };

/** A response's `close` listener, one function for all requests (no closure each). */
function onClientClose(this: ExchangeResponse): void {
  if (!this.writableFinished) this[EXCHANGE]?.cancel();
}

/**
 * One admitted request on its way through the pipeline and to the upstream: its state
 * between steps, its cancellation (the client leaving first), and the upstream's receiver.
 */
class Exchange extends Cancellation implements UpstreamReceiver {
  readonly ip: string;
  early: ThrottleOutcome | undefined;
  principal: Principal | undefined;
  /** The request's trace (for logs and problems), to answer in. */
  trace: TraceContext | undefined;
  tooLarge = false;
  started = 0;

  constructor(
    readonly deps: PipelineDeps,
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly outcome: RequestOutcome,
    readonly route: CompiledRoute,
    readonly params: Readonly<Record<string, string | readonly string[]>>,
    readonly query: string,
    readonly secure: boolean,
  ) {
    super();
    this.ip = request.ip;
  }

  /** Sends `err` as the answer (Fastify's error handler makes the problem+json). */
  fail(err: unknown): void {
    if (this.reply.sent) return;
    this.reply.send(err instanceof Error ? err : new Error(String(err)));
  }

  // The upstream's callbacks run in its connection's async context: answer in the request's
  // trace (entered again, as an AsyncResource made per request would, for less).
  static readonly #respondIn = (x: Exchange, res: UpstreamResponse) => x.#respond(res);
  static readonly #failedIn = (x: Exchange, err: Error) => x.#failed(err);

  upstreamResponse(res: UpstreamResponse): void {
    if (this.trace) runWithTrace(this.trace, Exchange.#respondIn, this, res);
    else this.#respond(res);
  }

  upstreamError(err: Error): void {
    if (this.trace) runWithTrace(this.trace, Exchange.#failedIn, this, err);
    else this.#failed(err);
  }

  #respond(res: UpstreamResponse): void {
    const { outcome, route } = this;
    outcome.upstreamMs = performance.now() - this.started;
    this.deps.metrics.upstream(route.config.service, 'response', outcome.upstreamMs / 1000);
    try {
      const out = clientResponseHeaders(res.headers);
      out['x-content-type-options'] ??= 'nosniff';
      this.reply.code(res.status).headers(out).send(res.body);
    } catch (err) {
      // As a failure of the upstream's answer (a 502), as when the answer was awaited.
      this.#failed(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #failed(err: Error): void {
    const { outcome, route } = this;
    outcome.upstreamMs = performance.now() - this.started;
    if (
      this.tooLarge ||
      err instanceof BodyTooLargeError ||
      (err as Error | undefined)?.cause instanceof BodyTooLargeError
    ) {
      outcome.decision = 'body-too-large';
      return this.fail(new FlotillaError('FLT_BODY_TOO_LARGE', 'request body is larger than the limit'));
    }
    if (this.cancelled) {
      // The client left first: nothing to answer, and not an upstream failure.
      outcome.decision = 'client-closed';
      return;
    }
    const failure = asUpstreamFailure(err);
    const kind = failureKind(failure);
    this.deps.metrics.upstream(route.config.service, kind, outcome.upstreamMs / 1000);
    outcome.decision = `upstream-${kind}`;
    this.fail(failure);
  }
}
