import type { AccessTokenClaims } from '../contracts/access-token/index.js';

/** The verified caller of a request, read from its RFC 9068 access token. */
export interface User {
  /** The subject: the user's stable id, or the client id for a client-credentials token. */
  readonly sub: string;
  /** `user`: a person through an application; `client`: an application for itself (RFC 9068 §2.2). */
  readonly kind: 'user' | 'client';
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly clientId: string;
  /** RFC 8176 `amr` names a second factor (`otp` or `mfa`). */
  readonly mfa: boolean;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Builds the caller from claims that have already been verified. */
export function userFromClaims(claims: AccessTokenClaims): User {
  const sub = claims.sub;
  const clientId = claims.client_id;
  const amr = strings(claims.amr);
  return Object.freeze({
    sub,
    // The same rule as the gateway: a client-credentials token names the client as subject.
    kind: claims.gty === 'client_credentials' || sub === clientId ? 'client' : 'user',
    roles: Object.freeze(strings(claims.roles)),
    // RFC 9068 §2.2.3: `scope` is a space-separated string.
    scopes: Object.freeze(strings(claims.scope)),
    clientId,
    mfa: amr.includes('otp') || amr.includes('mfa'),
  });
}
