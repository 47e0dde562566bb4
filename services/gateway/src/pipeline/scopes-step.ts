import { insufficientScope } from '../auth/auth-errors.js';
import type { Exchange } from './exchange.js';
import { decide } from './policy-step.js';
import { deny } from './refusals.js';
import { hasScopes } from './route-checks.js';

/**
 * Step 6, scopes: the token must grant every scope the route requires (RFC 6750 §3.1: 403
 * `insufficient_scope` naming them, `FLT_SCOPE_MISSING`). Checked before the policy, which
 * then decides on a caller the application was allowed to act for.
 */
export function checkScopes(x: Exchange): void {
  const principal = x.principal;
  if (principal && !hasScopes(principal.scopes, x.route.scopes))
    return deny(x, 'insufficient-scope', insufficientScope(x.route.scopes));
  decide(x);
}
