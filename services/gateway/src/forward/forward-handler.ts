import { Readable } from 'node:stream';
import { callFailure, FlotillaError } from '@flotilla/kit';
import { type Dispatcher, errors } from 'undici';
import type { Cancellation, UpstreamReceiver, UpstreamResponse } from './upstream.js';

/** Bodies up to this size (by Content-Length) are read whole and written to the client in one go. */
const WHOLE_BODY_MAX = 64 * 1024;

// Connection could not be made to a plain upstream's one URL: nobody is there to answer (503).
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/**
 * A failed exchange as the one error type. The kit's client already gives a `FlotillaError`
 * (after its retries); a plain upstream's undici error is classified as the kit classifies
 * its attempts (timeouts 504, the rest 502), except a connection nobody accepted (503).
 */
function classify(service: string, err: Error): FlotillaError {
  if (err instanceof FlotillaError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE.has(code))
    return new FlotillaError('FLT_UNAVAILABLE', `${service} is unavailable (${code})`, { cause: err });
  // Aborts (client gone, body over the limit) too: the pipeline judges them by their cause.
  return callFailure(service, err);
}

/**
 * One upstream exchange on undici's dispatch API: no AbortSignal and no promise, and a
 * small sized body is collected into one Buffer instead of a stream (the client gets
 * headers and body in one write); other bodies stream with backpressure (pause/resume).
 */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #cancel: Cancellation;
  readonly #receiver: UpstreamReceiver;
  readonly #service: string;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: UpstreamResponse['headers'] | undefined;
  #chunks: Buffer[] | undefined;
  #stream: Readable | undefined;

  constructor(cancel: Cancellation, receiver: UpstreamReceiver, service: string) {
    this.#cancel = cancel;
    this.#receiver = receiver;
    this.#service = service;
    cancel.onCancel(this);
  }

  /** The client went away: stop the upstream call. */
  cancelled(): void {
    this.#controller?.abort(new errors.RequestAbortedError());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#cancel.cancelled) controller.abort(new errors.RequestAbortedError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (status < 200) return; // 1xx: the final answer follows
    const length = Number(headers['content-length']);
    if (headers['content-length'] !== undefined && length <= WHOLE_BODY_MAX) {
      this.#status = status;
      this.#headers = headers;
      this.#chunks = [];
      return;
    }
    this.#stream = new Readable({
      read: () => controller.resume(),
      destroy: (err, done) => {
        // The client stopped reading (it left, or the write failed): stop the upstream too.
        if (!this.#stream?.readableEnded) controller.abort(err ?? new errors.RequestAbortedError());
        done(err);
      },
    });
    this.#receiver.upstreamResponse({ status, headers, body: this.#stream });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#chunks) this.#chunks.push(chunk);
    else if (this.#stream && !this.#stream.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#chunks && this.#headers) {
      const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#receiver.upstreamResponse({ status: this.#status, headers: this.#headers, body });
    } else this.#stream?.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#stream) this.#stream.destroy(err);
    else this.#receiver.upstreamError(classify(this.#service, err));
  }
}
