import type { AuditEvent, ServiceContext, TraceContext } from '@flotilla/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { WebFallback } from '../edge/web-app.js';
import type { CallerCredential } from '../forward/caller-credential.js';
import {
  Cancellation,
  type Upstream,
  type UpstreamReceiver,
  type UpstreamResponse,
} from '../forward/upstream.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { RouteDecider } from '../policy/route-decider.js';
import type { Denylist } from '../revocation/denylist.js';
import type { CompiledRoute, RouteTable } from '../routes/route-table.js';
import type { ThrottleOutcome, Throttler } from '../throttle/throttler.js';
import { upstreamAnswered, upstreamFailed } from './forward-step.js';

/** What the request path is built from (the service wires it; tests give their own). */
export interface PipelineDeps {
  table: RouteTable;
  /** Bearer-token authentication; undefined when no route requires it. */
  authenticator: Pick<Authenticator, 'authenticate'> | undefined;
  denylist: Pick<Denylist, 'check'>;
  policy: RouteDecider;
  throttler: Pick<Throttler, 'beforeAuth' | 'afterAuth'>;
  upstream: Upstream;
  credential: CallerCredential;
  metrics: GatewayMetrics;
  audit: (event: AuditEvent) => Promise<unknown>;
  log: ServiceContext['log'];
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

/**
 * One request on a route, from the edge to the upstream's answer: what the steps found so
 * far (each step records its value here and calls the next), its cancellation (the client
 * leaving first), and the upstream's receiver — one object a request, so that the path
 * makes no closure or promise of its own while every step answers at once.
 */
export class Exchange extends Cancellation implements UpstreamReceiver {
  readonly ip: string;
  /** The throttle step's outcome (its `RateLimit` states are sent with the quotas'). */
  early: ThrottleOutcome | undefined;
  /** The authenticated caller; undefined on a public route. */
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
    /** A CORS preflight's requested method; undefined for any other request. */
    readonly preflight: string | undefined,
  ) {
    super();
    this.ip = request.ip;
  }

  /** Sends `err` as the answer (Fastify's error handler makes the problem+json). */
  fail(err: unknown): void {
    if (this.reply.sent) return;
    this.reply.send(err instanceof Error ? err : new Error(String(err)));
  }

  /**
   * The rest of the request waits on `pending` (a step that could not answer at once: Redis,
   * a key set fetch, a remote decision); its failure is sent as the answer.
   */
  wait(pending: Promise<void>): void {
    pending.catch((err: unknown) => this.fail(err));
  }

  upstreamResponse(res: UpstreamResponse): void {
    upstreamAnswered(this, res);
  }

  upstreamError(err: Error): void {
    upstreamFailed(this, err);
  }
}
