import type { FastifyReply, FastifyRequest } from 'fastify';
import { cors } from './cors-step.js';
import { atEdge } from './edge-step.js';
import { Exchange, type PipelineDeps, type RequestOutcome } from './exchange.js';

export type { PipelineDeps, RequestOutcome } from './exchange.js';

/**
 * One request through the gateway, forward only, one small module a step:
 *
 * 1. `edge-step.ts` — HTTPS gate, path normalisation, route match (or the web app);
 * 2. `cors-step.ts` — preflights answered, CORS headers;
 * 3. `throttle-step.ts` — limits by source address (login and token endpoints);
 * 4. `authenticate-step.ts` — the bearer token;
 * 5. `revocation-step.ts` — the denylist;
 * 6. `scopes-step.ts` — the route's scopes;
 * 7. `policy-step.ts` — the route's action, decided by policy;
 * 8. `quota-step.ts` — the caller's quotas;
 * 9. `forward-step.ts` — to the upstream, and its answer back to the client.
 *
 * Each step records what it found on the request's `Exchange` and calls the next; none
 * calls back up. A refusal is thrown as a `FlotillaError` (`refusals.ts`): problem+json with
 * a metric label and, for 401/403/429, an audit record. A step that can answer at once (a
 * cached token, an in-memory decision or counter) goes on without a promise; only a step
 * that is pending (Redis, a key set fetch, a remote decision) puts the rest of the request
 * on one, and its failure is sent from there.
 */
export class Pipeline {
  readonly #d: PipelineDeps;
  /** What the access log and metrics say about each request, once answered. */
  readonly outcomes = new WeakMap<FastifyRequest, RequestOutcome>();

  constructor(deps: PipelineDeps) {
    this.#d = deps;
  }

  /**
   * Handles one request. Returns undefined (the reply is sent, or will be when the upstream
   * answers: Fastify waits for it) or the web app's reply; throws a refusal at once.
   */
  handle(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const outcome: RequestOutcome = { route: 'unmatched', decision: 'allow' };
    this.outcomes.set(request, outcome);
    reply.header('vary', 'Origin');
    const x = atEdge(this.#d, request, reply, outcome);
    if (!(x instanceof Exchange)) return x;
    cors(x);
    return undefined;
  }
}
