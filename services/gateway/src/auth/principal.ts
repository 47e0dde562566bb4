/**
 * The verified caller of a request. A `User` acts through an application (`clientId`);
 * a `Client` acts for itself (client_credentials: RFC 9068 §2.2 puts the client id in `sub`).
 */
export interface Principal {
  readonly type: 'User' | 'Client';
  /** `sub` for a User, `client_id` for a Client. */
  readonly id: string;
  readonly sub: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /** Authentication methods (RFC 8176), e.g. `pwd`, `otp`. */
  readonly amr: readonly string[];
  readonly jti: string | undefined;
  readonly grantId: string | undefined;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
  /** How the token was validated. */
  readonly via: 'jwt' | 'introspection';
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Builds a principal from verified JWT claims or an introspection response (RFC 7662 §2.2). */
export function principalFromClaims(claims: Record<string, unknown>, via: Principal['via']): Principal {
  const sub = String(claims.sub);
  const clientId = String(claims.client_id);
  const isClient = claims.gty === 'client_credentials' || sub === clientId;
  const grant = claims.grant_id ?? claims.gid;
  return Object.freeze({
    type: isClient ? 'Client' : 'User',
    id: isClient ? clientId : sub,
    sub,
    clientId,
    scopes: strings(claims.scope ?? claims.scp),
    roles: strings(claims.roles),
    amr: strings(claims.amr),
    jti: typeof claims.jti === 'string' ? claims.jti : undefined,
    grantId: typeof grant === 'string' ? grant : undefined,
    iat: typeof claims.iat === 'number' ? claims.iat : 0,
    exp: typeof claims.exp === 'number' ? claims.exp : 0,
    via,
  });
}
