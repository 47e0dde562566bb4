import type { Dispatcher } from 'undici';

/**
 * A bodiless call on undici's dispatch API (`ServiceClient.dispatch`). Headers go out as
 * given (the caller sets `traceparent`); no body, so a failed attempt can be repeated.
 */
export interface DispatchCall {
  method: Dispatcher.HttpMethod;
  path: string;
  headers: Record<string, string>;
  /** Time to wait for headers, and between body chunks. */
  timeoutMs: number;
  /** Retry on failure even though the method is not idempotent (the caller vouches for it). */
  idempotent?: boolean;
}

/** What one attempt tells the `ServiceClient` that made it. */
export interface AttemptOwner {
  /** Whether a response with this status is retried (it is then hidden from the caller). */
  wantsRetry(status: number): boolean;
  /** The attempt's instance answered with `status`, passed on to the caller. */
  answered(status: number): void;
  /** The attempt failed before a response reached the caller (error, or a retried status). */
  failed(err: Error | undefined): void;
  /** The attempt is over (in-flight accounting). */
  done(): void;
}

/**
 * One attempt of a dispatched call: passes the response to the caller's handler, unless
 * its status is one the owner retries, or the attempt fails before any response; then the
 * owner is told and may start another attempt with the same caller handler.
 */
export class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #owner: AttemptOwner;
  readonly #inner: Dispatcher.DispatchHandler;
  /** The response reached the caller's handler: what follows is the caller's. */
  #passed = false;
  /** A retried response is being discarded. */
  #discarding = false;
  #over = false;

  constructor(owner: AttemptOwner, inner: Dispatcher.DispatchHandler) {
    this.#owner = owner;
    this.#inner = inner;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#inner.onRequestStart?.(controller, context);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (status >= 200 && !this.#passed && this.#owner.wantsRetry(status)) {
      this.#discarding = true;
      return;
    }
    if (status >= 200) {
      this.#passed = true;
      this.#owner.answered(status);
    }
    this.#inner.onResponseStart?.(controller, status, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#discarding) this.#inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[]>,
  ): void {
    if (this.#discarding) return this.#fail(undefined);
    this.#end();
    this.#inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#passed || isAbort(err)) {
      // After the response began, or cancelled by the caller: the caller's own to handle.
      this.#end();
      return this.#inner.onResponseError?.(controller, err);
    }
    this.#fail(err);
  }

  #fail(err: Error | undefined): void {
    if (this.#over) return;
    this.#end();
    this.#owner.failed(err);
  }

  #end(): void {
    if (this.#over) return;
    this.#over = true;
    this.#owner.done();
  }
}

function isAbort(err: Error): boolean {
  return err.name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED';
}
