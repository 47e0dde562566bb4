import type { Readable } from 'node:stream';
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

/** Why an upstream call failed; the gateway turns it into 503, 504 or 502. */
export type UpstreamFailure = 'unavailable' | 'timeout' | 'bad-response';

export class UpstreamError extends Error {
  readonly kind: UpstreamFailure;
  constructor(kind: UpstreamFailure, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'UpstreamError';
    this.kind = kind;
  }
}

/**
 * The receiving end of `Upstream.dispatch`: told once, of the response (its body whole or
 * streaming) or of the failure before one. Called from the upstream connection's own
 * callbacks, i.e. outside the request's async context.
 */
export interface UpstreamReceiver {
  upstreamResponse(res: UpstreamResponse): void;
  upstreamError(err: Error): void;
}

/**
 * How the gateway reaches a service. Today: `UndiciUpstream` to a base URL per service.
 * Next: the kit's discovery-aware mTLS client (`call(service, request)`, SPIFFE peer check)
 * behind this same interface. Implementations throw `UpstreamError` for failures.
 */
export interface Upstream {
  forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse>;
  /**
   * The same call without a promise (the request path uses it when present): `receiver`
   * gets the response or an error (as `forward` would reject with it), exactly once.
   */
  dispatch?(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void;
  close(): Promise<void>;
}

/** Calls `upstream` through `dispatch` when it has one, else through its promise. */
export function dispatchTo(
  upstream: Upstream,
  route: CompiledRoute,
  request: UpstreamRequest,
  receiver: UpstreamReceiver,
): void {
  if (upstream.dispatch) return upstream.dispatch(route, request, receiver);
  let pending: Promise<UpstreamResponse>;
  try {
    pending = upstream.forward(route, request);
  } catch (err) {
    // Thrown rather than rejected: the call's failure all the same (as awaiting it gave).
    return receiver.upstreamError(asError(err));
  }
  pending.then(
    (res) => receiver.upstreamResponse(res),
    (err: unknown) => receiver.upstreamError(asError(err)),
  );
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
