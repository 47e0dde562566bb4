import type { Principal } from '../auth/principal.js';

/** What the gateway asks about one request: may this caller do the route's action on the route? */
export interface RouteRequest {
  /** The caller; `undefined` on a public route. */
  principal: Principal | undefined;
  /** The route's `action` (`http:<METHOD>` when the route names none; HEAD is GET). */
  action: string;
  resource: { type: 'Route'; id: string; service: string; method: string; path: string };
  context: {
    sourceIp: string;
    /** The time of the decision (the gateway makes it only when a decider reads it). */
    readonly time: Date;
    /** RFC 8176 `amr` contains `otp` (or `mfa`). */
    mfa: boolean;
    scopes: readonly string[];
    /** Scopes the route requires. */
    requiredScopes: readonly string[];
  };
}

export interface RouteDecision {
  decision: 'allow' | 'deny';
  reasons: readonly string[];
  /** Ids of the deciding policies (Cedar: the permits that allowed or the forbids that denied). */
  policies?: readonly string[];
  /** Why the request could not be evaluated cleanly (any error denies). */
  errors?: readonly string[];
}

/**
 * The gateway's decision point for one route request: after authentication, the revocation
 * check and the scope check, may the caller do the route's action on the route?
 * `CedarDecider` (`@flotilla/policy`) implements it; tests and tools may give their own.
 * (The kit's `PolicyDecider` is something else: an engine deciding any Cedar request,
 * which `CedarDecider` decides with.)
 *
 * @example
 * const decider: RouteDecider = { decide: ({ principal }) => ({ decision: principal ? 'allow' : 'deny', reasons: [] }) };
 */
export interface RouteDecider {
  decide(request: RouteRequest): RouteDecision | Promise<RouteDecision>;
}

/** Scopes only: deny unless every required scope is granted (no Cedar; for tests and tools). */
export const scopePolicy: RouteDecider = {
  decide({ context }) {
    const missing = context.requiredScopes.filter((s) => !context.scopes.includes(s));
    return missing.length === 0
      ? { decision: 'allow', reasons: ['scopes granted'] }
      : { decision: 'deny', reasons: missing.map((s) => `missing scope ${s}`) };
  },
};
