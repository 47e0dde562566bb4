/**
 * Every error code of Flotilla, in one registry: what a service puts in a problem+json
 * body, and what the platform's own tools raise (configuration, fleet files, policies,
 * the CA). A code names the condition, not the HTTP status, and is never reused for
 * another meaning; docs/errors.md documents each one (a test keeps the two in step).
 */
export const errorCodes = {
  // ---- Requests ----
  FLT_BAD_REQUEST: { status: 400, title: 'Bad request' },
  FLT_VALIDATION: { status: 400, title: 'Request validation failed' },
  FLT_BODY_MALFORMED: { status: 400, title: 'Malformed request body' },
  FLT_NOT_FOUND: { status: 404, title: 'Not found' },
  FLT_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  FLT_CONFLICT: { status: 409, title: 'Conflict' },
  FLT_BODY_TOO_LARGE: { status: 413, title: 'Payload too large' },
  FLT_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  FLT_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  // ---- Who is asking, and may they ----
  FLT_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FLT_TOKEN_INVALID: { status: 401, title: 'Invalid access token' },
  FLT_TOKEN_EXPIRED: { status: 401, title: 'Access token expired' },
  FLT_TOKEN_REVOKED: { status: 401, title: 'Access token revoked' },
  FLT_FORBIDDEN: { status: 403, title: 'Forbidden' },
  FLT_SCOPE_MISSING: { status: 403, title: 'Insufficient scope' },
  FLT_POLICY_DENIED: { status: 403, title: 'Denied by policy' },
  FLT_PEER_REFUSED: { status: 403, title: 'Peer identity refused' },
  // ---- Failures of this service or the next ----
  FLT_INTERNAL: { status: 500, title: 'Internal server error' },
  FLT_UPSTREAM_FAILED: { status: 502, title: 'Bad gateway' },
  FLT_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  FLT_NO_INSTANCE: { status: 503, title: 'No instance available' },
  FLT_CIRCUIT_OPEN: { status: 503, title: 'Circuit open' },
  FLT_UPSTREAM_TIMEOUT: { status: 504, title: 'Gateway timeout' },
  // ---- The platform's own inputs: settings, files, identities ----
  FLT_CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
  FLT_FLEET_INVALID: { status: 400, title: 'Invalid fleet file' },
  FLT_POLICY_INVALID: { status: 400, title: 'Invalid policy' },
  FLT_POLICY_SCHEMA_INVALID: { status: 400, title: 'Invalid policy schema' },
  FLT_POLICY_SOURCE_MISSING: { status: 500, title: 'Policy source missing' },
  FLT_POLICY_ENTITY_INVALID: { status: 400, title: 'Invalid policy entity' },
  FLT_POLICY_BUNDLE_MALFORMED: { status: 502, title: 'Malformed policy bundle' },
  FLT_POLICY_BUNDLE_SIGNATURE: { status: 502, title: 'Policy bundle signature invalid' },
  FLT_POLICY_BUNDLE_REPLAY: { status: 409, title: 'Policy bundle replayed' },
  FLT_POLICY_TEST_MALFORMED: { status: 400, title: 'Malformed policy test' },
  FLT_USAGE: { status: 400, title: 'Invalid command usage' },
  FLT_CSR_INVALID: { status: 400, title: 'Invalid certificate signing request' },
  FLT_JOIN_TOKEN_INVALID: { status: 401, title: 'Invalid join token' },
  FLT_CERT_REFUSED: { status: 403, title: 'Certificate refused' },
  FLT_KEY_SEALED: { status: 500, title: 'Key cannot be unsealed' },
  FLT_DISCOVERY_FAILED: { status: 502, title: 'Metadata discovery failed' },
  FLT_KMS_CIPHERTEXT_INVALID: { status: 400, title: 'Ciphertext cannot be decrypted' },
  FLT_KMS_KEY_DISABLED: { status: 409, title: 'Key disabled' },
  FLT_KMS_KEY_PENDING_DELETION: { status: 409, title: 'Key pending deletion' },
  FLT_KMS_KEY_VERSION_REFUSED: { status: 409, title: 'Key version refused' },
  // ---- Object storage ----
  FLT_OBJECT_KEY_INVALID: { status: 400, title: 'Invalid object key' },
  FLT_PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  FLT_RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
  FLT_OBJECT_INTEGRITY: { status: 500, title: 'Stored object failed its integrity check' },
  // ---- Messaging (the kit's bus) ----
  FLT_MESSAGE_INVALID: { status: 400, title: 'Invalid message' },
  FLT_MESSAGE_TOO_LARGE: { status: 413, title: 'Message too large' },
  FLT_SENDER_MISMATCH: { status: 403, title: 'Message sender is not the connection identity' },
  FLT_BUS_REFUSED: { status: 502, title: 'Broker refused the message' },
  FLT_BUS_UNAVAILABLE: { status: 503, title: 'Broker unavailable' },
  FLT_BUS_ACCESS_REFUSED: { status: 403, title: "The broker refused this service's user access" },
  // The embedded broker (services/broker).
  FLT_BUS_BACKPRESSURE: { status: 429, title: 'The broker is applying back-pressure' },
  FLT_BUS_LEASE_LOST: { status: 409, title: 'The delivery is no longer leased to this consumer' },
} as const satisfies Record<`FLT_${string}`, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** The stable problem `type` URI of a code (RFC 9457 §3.1.1): `FLT_TOKEN_EXPIRED` → `…:token-expired`. */
export function problemType(code: ErrorCode): string {
  return `urn:flotilla:problem:${code.slice('FLT_'.length).toLowerCase().replaceAll('_', '-')}`;
}

/** Whether a string (say, the `code` of a problem from another service) is a known code. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCodes, code);
}
