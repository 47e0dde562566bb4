import { Readable } from 'node:stream';
import { FlotillaError } from '@flotilla/kit';
import { type Dispatcher, errors } from 'undici';
import {
  type Cancellation,
  UpstreamError,
  type UpstreamReceiver,
  type UpstreamResponse,
} from './upstream.js';

/** Bodies up to this size (by Content-Length) are read whole and written to the client in one go. */
const WHOLE_BODY_MAX = 64 * 1024;

// Connection could not be made: nobody is there to answer (503).
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** The kit's call failures (after its retries), as the gateway answers them. */
export function fromKitError(err: FlotillaError): UpstreamError {
  const kind =
    err.code === 'FLT_UPSTREAM_TIMEOUT'
      ? 'timeout'
      : err.code === 'FLT_UNAVAILABLE'
        ? 'unavailable'
        : 'bad-response';
  return new UpstreamError(kind, err.message, err);
}

function classify(err: unknown): Error {
  if (err instanceof FlotillaError) return fromKitError(err);
  const code = (err as { code?: string } | null)?.code;
  if (code && UNAVAILABLE.has(code))
    return new UpstreamError('unavailable', `upstream unavailable (${code})`, err);
  if (code && TIMEOUT.has(code)) return new UpstreamError('timeout', `upstream timed out (${code})`, err);
  // Aborts (client gone, body over the limit) keep their own error for the caller to judge.
  if (err instanceof Error && (err.name === 'AbortError' || code === 'UND_ERR_ABORTED')) return err;
  if (err instanceof UpstreamError) return err;
  return new UpstreamError('bad-response', `upstream failed (${code ?? (err as Error).message})`, err);
}

/**
 * One upstream exchange on undici's dispatch API: no AbortSignal and no promise, and a
 * small sized body is collected into one Buffer instead of a stream (the client gets
 * headers and body in one write); other bodies stream with backpressure (pause/resume).
 */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #cancel: Cancellation;
  readonly #receiver: UpstreamReceiver;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: UpstreamResponse['headers'] | undefined;
  #chunks: Buffer[] | undefined;
  #stream: Readable | undefined;

  constructor(cancel: Cancellation, receiver: UpstreamReceiver) {
    this.#cancel = cancel;
    this.#receiver = receiver;
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
    else this.#receiver.upstreamError(classify(err));
  }
}
