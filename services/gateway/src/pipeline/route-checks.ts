import type { Principal } from '../auth/principal.js';
import type { RouteRequest } from '../policy/route-decider.js';
import type { CompiledRoute } from '../routes/route-table.js';

/**
 * The checks a request on a route gets, as functions of the route and the caller alone:
 * the pipeline's steps run them on each request, and `POST /api/permissions` runs the same
 * ones on the requests it is asked about (`permissions/would-allow.ts`). One source of truth.
 */

const NO_SCOPES: readonly string[] = Object.freeze([]);

/** Whether the route needs an authenticated caller (a public route is decided on none). */
export function requiresCaller(route: CompiledRoute): boolean {
  return route.config.auth === 'required';
}

/** Every scope the route requires is granted (RFC 6750 §3.1). */
export function hasScopes(granted: readonly string[], required: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (!granted.includes(required[i]!)) return false;
  return true;
}

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

/**
 * What the policy is asked about a request on `route`: may `principal` (none on a public
 * route) do the route's action on the route, from `ip`, with or without a second factor?
 */
export function policyRequest(
  route: CompiledRoute,
  principal: Principal | undefined,
  ip: string,
): RouteRequest {
  return {
    principal,
    action: route.action,
    resource: route.resource,
    context: new PolicyContext(
      ip,
      principal ? principal.amr.includes('otp') || principal.amr.includes('mfa') : false,
      principal ? principal.scopes : NO_SCOPES,
      route.scopes,
    ),
  };
}
