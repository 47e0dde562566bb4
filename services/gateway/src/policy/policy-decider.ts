import type { Principal } from '../auth/principal.js';

export interface PolicyRequest {
  /** The caller; `undefined` on a public route. */
  principal: Principal | undefined;
  /** The route's `action` (`<METHOD> <path>` when not configured). */
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

export interface PolicyDecision {
  decision: 'allow' | 'deny';
  reasons: readonly string[];
  /** Ids of the deciding policies (Cedar: the permits that allowed or the forbids that denied). */
  policies?: readonly string[];
  /** Why the request could not be evaluated cleanly (any error denies). */
  errors?: readonly string[];
}

/**
 * Decides whether a caller may perform an action on a route. The gateway calls it after
 * authentication and the scope check; `CedarDecider` (`@flotilla/policy`) implements it.
 */
export interface PolicyDecider {
  decide(request: PolicyRequest): PolicyDecision | Promise<PolicyDecision>;
}

/** Scopes only: deny unless every required scope is granted (no Cedar; for tests and tools). */
export const scopePolicy: PolicyDecider = {
  decide({ context }) {
    const missing = context.requiredScopes.filter((s) => !context.scopes.includes(s));
    return missing.length === 0
      ? { decision: 'allow', reasons: ['scopes granted'] }
      : { decision: 'deny', reasons: missing.map((s) => `missing scope ${s}`) };
  },
};
