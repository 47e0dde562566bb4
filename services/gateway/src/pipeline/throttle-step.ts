import type { ThrottleOutcome } from '../throttle/throttler.js';
import { authenticate } from './authenticate-step.js';
import type { Exchange } from './exchange.js';
import { refuseThrottled } from './refusals.js';

/**
 * Step 3, the throttle: limits counted before anyone is authenticated — route policies keyed
 * by source address, such as the login and token endpoints' — so that guessing costs
 * attempts. (A caller's own quotas are charged after the policy: `quota-step.ts`.)
 */
export function throttle(x: Exchange): void {
  const early = x.deps.throttler.beforeAuth(x.route, x.ip);
  if (early instanceof Promise) x.wait(early.then((e) => throttled(x, e)));
  else throttled(x, early);
}

function throttled(x: Exchange, early: ThrottleOutcome): void {
  if (!early.allowed) return refuseThrottled(x, early);
  x.early = early;
  authenticate(x);
}
