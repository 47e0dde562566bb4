import type { JWTPayload } from 'jose';

/**
 * RFC 9068 §2.1: the signing algorithms an access token may use — the one our auth
 * service signs with (ES256, RFC 7518 §3.4). Every verifier passes exactly this list,
 * never the token's own choice: `none`, HS256-with-the-public-key and anything not
 * listed are refused. The auth service signs with `ALGORITHMS[0]`.
 */
export const ALGORITHMS = ['ES256'] as const;

/** The algorithm the auth service signs access tokens (and ID tokens) with. */
export const SIGNING_ALGORITHM = ALGORITHMS[0];

/** RFC 9068 §2.1: the `typ` header of a JWT access token (`application/at+jwt` is the same type). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** RFC 9068 §2.2: the claims every JWT access token carries. */
export const REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] as const;

/** The claims of a verified access token. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  /** RFC 9068 §2.2: the client the token was issued to (for client credentials, also `sub`). */
  client_id: string;
  jti: string;
  iat: number;
  exp: number;
  /** RFC 9068 §2.2.3: space-separated scopes. */
  scope?: unknown;
  /** The grant the token belongs to (gateways deny every token of a revoked grant). */
  grant_id?: unknown;
  /** The user's roles (RFC 9068 §2.2.3.1 `roles`). */
  roles?: unknown;
  /** RFC 8176 authentication methods of the user. */
  amr?: unknown;
  /** How it was granted, e.g. `client_credentials` or `token_exchange`. */
  gty?: unknown;
  /** RFC 8693 §4.1: the actor of an exchanged token. */
  act?: unknown;
}
