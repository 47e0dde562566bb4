import type { MtlsRequest } from '../identity/mtls-client.js';

/**
 * A call to another service by name (`ServiceClient.call`, `ctx.call`). The body is
 * sent as given: a string or Buffer whole, a `Readable` streamed with back-pressure.
 */
export interface CallRequest extends MtlsRequest {
  /** Retry on failure even though the method is not idempotent (the caller vouches for it). */
  idempotent?: boolean;
}

/**
 * The same call on undici's dispatch API (`ServiceClient.dispatch`, `ctx.dispatch`): no
 * signal (the handler's controller aborts it), headers go out as given (the caller sets
 * `traceparent`), a body streams through.
 */
export type DispatchCall = Omit<CallRequest, 'signal'>;

/** Time to wait for headers, and between body chunks, when the request does not say. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
