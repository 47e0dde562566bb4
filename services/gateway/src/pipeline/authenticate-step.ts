import { FlotillaError } from '@flotilla/kit';
import type { Principal } from '../auth/principal.js';
import type { Exchange } from './exchange.js';
import { deny } from './refusals.js';
import { checkRevocation } from './revocation-step.js';
import { requiresCaller } from './route-checks.js';

/**
 * Step 4, authentication: on a route that requires it, the bearer token is verified (a token
 * in the verified-token cache answers at once) and the caller recorded; a public route goes
 * on without a caller. A refusal is a 401 (or 400) with its `WWW-Authenticate` challenge.
 */
export function authenticate(x: Exchange): void {
  if (!requiresCaller(x.route)) return checkRevocation(x);
  const authenticator = x.deps.authenticator;
  if (!authenticator) throw new FlotillaError('FLT_INTERNAL', 'authentication is not configured');
  let verified: Principal | Promise<Principal>;
  try {
    verified = authenticator.authenticate(x.request.headers, x.query);
  } catch (err) {
    return failed(x, err);
  }
  if (verified instanceof Promise)
    x.wait(
      verified.then(
        (p) => authenticated(x, p),
        (err: unknown) => failed(x, err),
      ),
    );
  else authenticated(x, verified);
}

function authenticated(x: Exchange, principal: Principal): void {
  x.principal = principal;
  x.outcome.principal = principalLabel(principal);
  x.outcome.clientId = principal.clientId;
  checkRevocation(x);
}

function failed(x: Exchange, err: unknown): never {
  const reason =
    err instanceof FlotillaError && err.status === 401
      ? x.request.headers.authorization
        ? 'invalid-token'
        : 'no-token'
      : 'auth-error';
  if (err instanceof FlotillaError && err.status < 500) return deny(x, reason, err);
  throw err;
}

// `User:<sub>` or `Client:<client_id>` for the access log and metrics, made once per cached principal.
const LABELS = new WeakMap<Principal, string>();
function principalLabel(p: Principal): string {
  let label = LABELS.get(p);
  if (label === undefined) LABELS.set(p, (label = `${p.type}:${p.id}`));
  return label;
}
