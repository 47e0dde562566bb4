import type { Readable } from 'node:stream';
import { type ErrorCode, FlotillaError } from '@flotilla/kit';
import type { CompiledRoute } from '../routes/route-table.js';

/**
 * The client's end of an upstream call: cancelled when the client goes away before its
 * answer is written. The `AbortSignal` is made only when an upstream asks for one (most
 * requests finish first, and a signal costs more than the request's other objects together).
 */
export class Cancellation {
  #cancelled = false;
  #controller: AbortController | undefined;
  #listener: CancelListener | undefined;
  #more: CancelListener[] | undefined;

  get cancelled(): boolean {
    return this.#cancelled;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /**
   * Runs `listener` (a function, or an object's `cancelled()`) when cancelled, at once if
   * already cancelled. The first listener is kept without an array.
   */
  onCancel(listener: CancelListener): void {
    if (this.#cancelled) notify(listener);
    else if (!this.#listener) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#controller?.abort();
    if (this.#listener) notify(this.#listener);
    for (const listener of this.#more ?? []) notify(listener);
  }
}

/** Told when a `Cancellation` is cancelled: a function, or an object (no closure needed). */
export type CancelListener = (() => void) | { cancelled(): void };

function notify(listener: CancelListener): void {
  if (typeof listener === 'function') listener();
  else listener.cancelled();
}

export interface UpstreamRequest {
  method: string;
  /** Path and query of the upstream request line, already normalised and re-encoded. */
  path: string;
  headers: Record<string, string | string[]>;
  /** The request body, streamed; undefined when there is none. */
  body: Readable | undefined;
  /** Cancelled when the client goes away first. */
  cancel: Cancellation;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** A small body whole (one write to the client), a large or unsized one streamed as it arrives. */
  body: Readable | Buffer;
}

/**
 * The receiving end of `Upstream.dispatch`: told once, of the response (its body whole or
 * streaming) or of the failure before one, a `FlotillaError` whose code the gateway answers
 * with. Called from the upstream connection's own callbacks, i.e. outside the request's
 * async context.
 */
export interface UpstreamReceiver {
  upstreamResponse(res: UpstreamResponse): void;
  upstreamError(err: FlotillaError): void;
}

/**
 * How the gateway reaches a service: `UndiciUpstream` to a base URL per service, or
 * `KitUpstream` through the kit's client (discovery, balancing, mTLS with the SPIFFE peer
 * check). Request and response bodies stream both ways with back-pressure, and
 * `request.cancel` stops the call when the client goes away.
 *
 * @example
 * upstream.dispatch(route, { method: 'GET', path: '/videos/1', headers, body: undefined, cancel }, {
 *   upstreamResponse: (res) => reply.code(res.status).send(res.body),
 *   upstreamError: (err) => reply.send(err),
 * });
 */
export interface Upstream {
  /** Sends `request` to the route's service; `receiver` gets the response or the failure, exactly once. */
  dispatch(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void;
  close(): Promise<void>;
}

/**
 * Calls `upstream.dispatch`, and gives what it throws instead of reporting (an injected
 * upstream may) to `receiver` as the call's failure, as it would have reported it.
 */
export function dispatchTo(
  upstream: Upstream,
  route: CompiledRoute,
  request: UpstreamRequest,
  receiver: UpstreamReceiver,
): void {
  try {
    upstream.dispatch(route, request, receiver);
  } catch (err) {
    receiver.upstreamError(asUpstreamFailure(err));
  }
}

/** A failure of the upstream call as the one error type: a `FlotillaError` as it is, anything else as `code`. */
export function asUpstreamFailure(err: unknown, code: ErrorCode = 'FLT_UPSTREAM_FAILED'): FlotillaError {
  if (err instanceof FlotillaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FlotillaError(code, `upstream call failed: ${message}`, { cause: err });
}

/** How an upstream failure is labelled in metrics and the access log (the answer is its status). */
export type UpstreamFailure = 'unavailable' | 'timeout' | 'bad-response';

export function failureKind(err: FlotillaError): UpstreamFailure {
  return err.status === 503 ? 'unavailable' : err.status === 504 ? 'timeout' : 'bad-response';
}
