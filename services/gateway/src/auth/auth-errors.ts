import { type ErrorCode, FlotillaError } from '@flotilla/kit';

const REALM = 'flotilla';

// RFC 6750 §3: error_description is a quoted-string of %x20-21 / %x23-5B / %x5D-7E.
function quoted(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}

/** RFC 6750 §3.1: a request without credentials gets the challenge without an error code. */
export function missingToken(): FlotillaError {
  return new FlotillaError('FLT_UNAUTHENTICATED', 'a bearer token is required', {
    headers: { 'www-authenticate': `Bearer realm="${REALM}"` },
  });
}

/**
 * RFC 6750 §3.1 `invalid_token`: malformed or failed verification (`FLT_TOKEN_INVALID`),
 * expired (`FLT_TOKEN_EXPIRED`) or revoked (`FLT_TOKEN_REVOKED`); one challenge for all.
 */
export function invalidToken(
  description: string,
  code: Extract<ErrorCode, `FLT_TOKEN_${string}`> = 'FLT_TOKEN_INVALID',
): FlotillaError {
  return new FlotillaError(code, `invalid token: ${description}`, {
    headers: {
      'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${quoted(description)}"`,
    },
  });
}

/** The denylist refuses the token (its `jti`, grant, user or client was revoked). */
export function revokedToken(description: string): FlotillaError {
  return invalidToken(description, 'FLT_TOKEN_REVOKED');
}

/** RFC 6750 §3.1 `invalid_request`: e.g. a token in the query string or two schemes at once. */
export function invalidRequest(description: string): FlotillaError {
  return new FlotillaError('FLT_BAD_REQUEST', description, {
    headers: {
      'www-authenticate': `Bearer realm="${REALM}", error="invalid_request", error_description="${quoted(description)}"`,
    },
  });
}

/** RFC 6750 §3.1 `insufficient_scope`, naming the scopes the route needs. */
export function insufficientScope(scopes: readonly string[]): FlotillaError {
  return new FlotillaError('FLT_SCOPE_MISSING', `the token lacks the scope ${scopes.join(' ')}`, {
    headers: {
      'www-authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${quoted(scopes.join(' '))}"`,
    },
  });
}

/** The key set or introspection endpoint cannot be reached: the caller is not at fault. */
export function authUnavailable(detail: string, cause?: unknown): FlotillaError {
  return new FlotillaError('FLT_UNAVAILABLE', detail, { cause });
}
