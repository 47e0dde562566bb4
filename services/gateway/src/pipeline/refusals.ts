import { type AuditEvent, FlotillaError } from '@flotilla/kit';
import { rateLimitHeaders } from '../throttle/ratelimit-headers.js';
import type { ThrottleOutcome } from '../throttle/throttler.js';
import type { Exchange, RequestOutcome } from './exchange.js';

/**
 * How a step refuses: it throws a `FlotillaError` (the kit's error handler answers with
 * problem+json) after labelling the outcome for the access log and metrics. 401, 403 and
 * 429 refusals are also audited.
 */

/** Refuses with `err`, the outcome labelled `decision` (malformed or unroutable requests: no audit). */
export function refuse(outcome: RequestOutcome, decision: string, err: FlotillaError): never {
  outcome.decision = decision;
  throw err;
}

/** Refuses a caller (or would-be caller) for `reason`, and audits it. */
export function deny(
  x: Exchange,
  reason: string,
  err: FlotillaError,
  details: Record<string, unknown> = {},
): never {
  x.outcome.decision = reason;
  audit(x, reason, err, details);
  throw err;
}

/** Refuses with 429, `Retry-After` and the `RateLimit` fields of every limit consulted. */
export function refuseThrottled(x: Exchange, result: ThrottleOutcome): never {
  const { outcome, route } = x;
  outcome.decision = 'throttled';
  outcome.throttledBy = result.refusedBy;
  x.deps.metrics.throttled.inc({ route: route.id, policy: result.refusedBy ?? 'unknown' });
  const err = new FlotillaError('FLT_RATE_LIMITED', `rate limit ${result.refusedBy} exceeded`, {
    headers: { 'retry-after': String(result.retryAfterSec ?? 1), ...rateLimitHeaders(result.states) },
  });
  x.reply.headers(err.headers ?? {});
  audit(x, 'throttled', err, { policy: result.refusedBy });
  throw err;
}

function audit(x: Exchange, reason: string, err: FlotillaError, details: Record<string, unknown>): void {
  const { principal, deps } = x;
  // Never the token: only who (as verified), where from, what, and why.
  const event: AuditEvent = {
    actor: principal ? `${principal.type.toLowerCase()}:${principal.id}` : 'anonymous',
    action: err.status === 429 ? 'gateway.throttle' : 'gateway.deny',
    target: x.route.id,
    outcome: 'denied',
    reason: `${reason}: ${err.message}`,
    details: { status: err.status, ip: x.request.ip, clientId: principal?.clientId, ...details },
  };
  deps.audit(event).catch((e: unknown) => deps.log.error({ err: e }, 'audit append failed'));
}
