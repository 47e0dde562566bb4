import type { Readable } from 'node:stream';
import { FlotillaError } from '../errors/index.js';
import type { DispatchCall } from './call-request.js';

// RFC 9110 §9.2.2: these methods may be repeated without changing the outcome.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Answers that say "not this instance, not now": retried, and counted as the instance failing. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([502, 503, 504]);

// undici's timeouts: waiting for a connection, for the response headers, between body chunks.
const TIMEOUT = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Whether failed attempts of `req` may be repeated: by its method, or the caller's word. */
export function retryableMethod(req: DispatchCall): boolean {
  return req.idempotent ?? IDEMPOTENT.has(req.method ?? 'GET');
}

function isStream(body: DispatchCall['body']): body is Readable {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body);
}

/**
 * Whether a retried status may be replayed with this body. A whole body (string, Buffer) is
 * kept, so it can be sent again; a streamed body never: by the time the instance answered,
 * some of it may have gone to it and cannot be read again.
 */
export function replayableAfterAnswer(body: DispatchCall['body']): boolean {
  return !isStream(body);
}

/**
 * Whether a failed attempt (no answer) may be replayed with this body: a whole body always;
 * a streamed one only while no byte of it was read (the attempt failed before sending it:
 * connection refused, TLS refused), as undici's own RetryHandler decides (`isDisturbed`).
 */
export function replayableAfterFailure(body: DispatchCall['body']): boolean {
  return !isStream(body) || (!body.readableDidRead && !body.destroyed);
}

/**
 * Whether an attempt ended because of the caller, not the instance: it cancelled (an abort),
 * or its own body stream failed (e.g. a size limit). Not retried, not held against the instance.
 */
export function endedByCaller(err: Error, body: DispatchCall['body']): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    err.name === 'AbortError' ||
    code === 'UND_ERR_ABORTED' ||
    code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' ||
    (isStream(body) && body.errored !== null)
  );
}

/**
 * The failure of a call after its last attempt, as the one error type callers see: no
 * error is no instance to try; undici's timeouts are `FLT_UPSTREAM_TIMEOUT`; any other
 * failure (connection, TLS, a broken answer) is `FLT_UPSTREAM_FAILED`.
 *
 * @example
 * handler.onResponseError(controller, callFailure('metadata', err));
 */
export function callFailure(service: string, err: Error | undefined): FlotillaError {
  if (err === undefined) {
    return new FlotillaError('FLT_NO_INSTANCE', `no instance of ${service} is available`, {
      retryable: true,
    });
  }
  if (err instanceof FlotillaError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TIMEOUT.has(code)) {
    return new FlotillaError('FLT_UPSTREAM_TIMEOUT', `${service} did not answer in time (${code})`, {
      cause: err,
      retryable: true,
    });
  }
  return new FlotillaError('FLT_UPSTREAM_FAILED', `${service} could not be reached`, {
    cause: err,
    retryable: true,
  });
}
