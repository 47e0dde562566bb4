import type { Principal } from '../auth/principal.js';
import type { PipelineDeps } from '../pipeline/exchange.js';
import { hasScopes, policyRequest, requiresCaller } from '../pipeline/route-checks.js';
import type { RouteDecision } from '../policy/route-decider.js';
import { normalisePath } from '../routes/normalise-path.js';

/**
 * Would the gateway let `method path` through to its upstream, were `caller` to send it
 * from `ip` with the token it used to ask? The pipeline's own matching and checks
 * (`pipeline/edge-step.ts` through `policy-step.ts`), in their order, with nothing sent:
 *
 * - the path normalises and matches a route for the method (query ignored; HEAD is a GET
 *   route's), else false — the web app is not a route;
 * - on a route that requires a caller: the caller (authenticated, as this request was) is
 *   not revoked and has the route's scopes;
 * - the policy allows the route's action on the route, for that caller (none on a public
 *   route) with the same source address and second factor.
 *
 * Rate limits and body limits are not asked about: they say how much, not whether. The
 * route is the resource (`Route::"<METHOD> <pattern>"`), so a path parameter never changes
 * the answer; the services still decide on the object itself.
 */
export function wouldAllow(
  d: Pick<PipelineDeps, 'table' | 'denylist' | 'policy'>,
  caller: Principal | undefined,
  ip: string,
  method: string,
  path: string,
): boolean | Promise<boolean> {
  const q = path.indexOf('?');
  const norm = normalisePath(q === -1 ? path : path.slice(0, q));
  if (!norm.ok) return false;
  const match = d.table.match(method, norm.segments);
  if (match.kind !== 'match') return false;
  const route = match.route;
  let principal: Principal | undefined;
  if (requiresCaller(route)) {
    if (!caller || d.denylist.check(caller)) return false;
    if (!hasScopes(caller.scopes, route.scopes)) return false;
    principal = caller;
  }
  const decided = d.policy.decide(policyRequest(route, principal, ip));
  return decided instanceof Promise ? decided.then(isAllow) : isAllow(decided);
}

function isAllow(decision: RouteDecision): boolean {
  return decision.decision === 'allow';
}
