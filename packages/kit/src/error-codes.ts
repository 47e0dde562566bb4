/**
 * Every error code a Flotilla service can put in a problem+json body, in one registry.
 * A code is never reused for another meaning; docs/errors.md documents each one
 * (a test keeps the two in step).
 */
export const errorCodes = {
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  VALIDATION_FAILED: { status: 400, title: 'Request validation failed' },
  MALFORMED_BODY: { status: 400, title: 'Malformed request body' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONFLICT: { status: 409, title: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  BAD_GATEWAY: { status: 502, title: 'Bad gateway' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  GATEWAY_TIMEOUT: { status: 504, title: 'Gateway timeout' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** The stable problem `type` URI of a code (RFC 9457 §3.1.1). */
export function problemType(code: ErrorCode): string {
  return `urn:flotilla:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}
