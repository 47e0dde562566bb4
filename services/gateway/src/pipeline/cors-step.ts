import { FlotillaError } from '@flotilla/kit';
import { answerPreflight, corsResponseHeaders } from '../cors/cors-policy.js';
import { GENERATED_RESPONSE_HEADERS } from '../edge/security-headers.js';
import type { Exchange } from './exchange.js';
import { deny } from './refusals.js';
import { throttle } from './throttle-step.js';

/**
 * Step 2, CORS: a preflight is answered here (204, or 403 for an origin, method or header
 * the route does not allow) and goes no further; any other request gets the route's CORS
 * headers for its origin (none for an origin not allowed) and goes on to the throttle.
 */
export function cors(x: Exchange): void {
  const { request, reply, route } = x;
  const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;
  if (x.preflight !== undefined) return preflight(x, origin ?? '', x.preflight);
  if (route.config.cors) reply.headers(corsResponseHeaders(route.config.cors, origin));
  throttle(x);
}

function preflight(x: Exchange, origin: string, method: string): void {
  const asked = x.request.headers['access-control-request-headers'];
  const answer = answerPreflight(
    x.route.config.cors,
    x.route.config.method,
    origin,
    method,
    typeof asked === 'string' ? asked : undefined,
  );
  if (!answer.ok)
    return deny(x, 'cors', new FlotillaError('FLT_FORBIDDEN', `CORS preflight refused: ${answer.reason}`));
  x.outcome.decision = 'preflight';
  x.reply.headers(GENERATED_RESPONSE_HEADERS).headers(answer.headers).code(204).send();
}
