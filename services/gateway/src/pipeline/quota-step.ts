import { rateLimitHeaders } from '../throttle/ratelimit-headers.js';
import type { ThrottleOutcome } from '../throttle/throttler.js';
import type { Exchange } from './exchange.js';
import { forward } from './forward-step.js';
import { refuseThrottled } from './refusals.js';

/**
 * Step 8, quotas: the application's quota, the user's fair usage (or their role's tier) and
 * the route's own policy, charged only once the policy has allowed the request (a refused
 * request spends none). Every response past here carries the `RateLimit` fields of all the
 * limits consulted, the throttle step's included.
 */
export function chargeQuotas(x: Exchange): void {
  const checked = x.deps.throttler.afterAuth(x.route, x.principal, x.ip);
  if (checked instanceof Promise) x.wait(checked.then((quota) => charged(x, quota)));
  else charged(x, checked);
}

function charged(x: Exchange, quota: ThrottleOutcome): void {
  const early = x.early!;
  const states = early.states.length === 0 ? quota.states : [...early.states, ...quota.states];
  if (!quota.allowed) return refuseThrottled(x, { ...quota, states });
  x.reply.headers(rateLimitHeaders(states));
  forward(x);
}
