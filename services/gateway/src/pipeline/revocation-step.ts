import { revokedToken } from '../auth/auth-errors.js';
import type { Exchange } from './exchange.js';
import { deny } from './refusals.js';
import { checkScopes } from './scopes-step.js';

/**
 * Step 5, the revocation check: a token, grant, user or client the auth server revoked is
 * refused (401 `invalid_token`) even while its signature and expiry still hold, and even
 * when the token was verified before (from the cache).
 */
export function checkRevocation(x: Exchange): void {
  const principal = x.principal;
  if (principal) {
    const revoked = x.deps.denylist.check(principal);
    if (revoked) return deny(x, 'revoked', revokedToken(revoked));
  }
  checkScopes(x);
}
