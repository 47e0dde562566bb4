import { FlotillaError } from '@flotilla/kit';
import type { RouteDecision } from '../policy/route-decider.js';
import type { Exchange } from './exchange.js';
import { chargeQuotas } from './quota-step.js';
import { deny } from './refusals.js';
import { policyRequest } from './route-checks.js';

/**
 * Step 7, the policy: may this caller do the route's action (`video:Read`, or `http:<METHOD>`
 * for a route that names none) on the route? Default deny; a deny is a 403
 * `FLT_POLICY_DENIED`, audited with the deciding policies.
 */
export function decide(x: Exchange): void {
  const decided = x.deps.policy.decide(policyRequest(x.route, x.principal, x.ip));
  if (decided instanceof Promise) x.wait(decided.then((d) => decidedOn(x, d)));
  else decidedOn(x, decided);
}

function decidedOn(x: Exchange, decision: RouteDecision): void {
  if (decision.decision !== 'allow') {
    return deny(x, 'policy', new FlotillaError('FLT_POLICY_DENIED', 'denied by policy'), {
      reasons: decision.reasons,
      policies: decision.policies ?? [],
      ...(decision.errors?.length ? { errors: decision.errors } : {}),
    });
  }
  chargeQuotas(x);
}
