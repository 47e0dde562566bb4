import { FlotillaError } from '@flotilla/kit';
import type { RouteDecision } from '../policy/route-decider.js';
import type { Exchange } from './exchange.js';
import { chargeQuotas } from './quota-step.js';
import { deny } from './refusals.js';

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

/**
 * Step 7, the policy: may this caller do the route's action (`video:Read`, or `http:<METHOD>`
 * for a route that names none) on the route? Default deny; a deny is a 403
 * `FLT_POLICY_DENIED`, audited with the deciding policies.
 */
export function decide(x: Exchange): void {
  const { principal, route } = x;
  const decided = x.deps.policy.decide({
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
