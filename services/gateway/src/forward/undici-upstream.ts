import { Readable } from 'node:stream';
import { type Dispatcher, errors, Pool } from 'undici';
import type { CompiledRoute } from '../routes/route-table.js';
import {
  type Cancellation,
  type Upstream,
  UpstreamError,
  type UpstreamReceiver,
  type UpstreamRequest,
  type UpstreamResponse,
} from './upstream.js';

/** Bodies up to this size (by Content-Length) are read whole and written to the client in one go. */
const WHOLE_BODY_MAX = 64 * 1024;

export interface UndiciUpstreamOptions {
  /** Service name → base URL (`http://127.0.0.1:4001`, optionally with a path prefix). */
  services: Readonly<Record<string, string>>;
  /** Longest wait for the upstream's response headers, and between body chunks. */
  timeoutMs: number;
  connectTimeoutMs?: number;
  connections?: number;
  /** Extra CA certificates (PEM) to trust for https upstreams. */
  ca?: string | Buffer;
}

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

/** A plain HTTP(S) upstream per service, with a keep-alive pool each. */
export class UndiciUpstream implements Upstream {
  readonly #pools = new Map<string, { pool: Pool; prefix: string }>();

  constructor(opts: UndiciUpstreamOptions) {
    for (const [service, base] of Object.entries(opts.services)) {
      const url = new URL(base);
      const pool = new Pool(url.origin, {
        connections: opts.connections ?? 128,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        connectTimeout: opts.connectTimeoutMs ?? Math.min(opts.timeoutMs, 5000),
        ...(opts.ca ? { connect: { ca: opts.ca } } : {}),
      });
      this.#pools.set(service, { pool, prefix: url.pathname.replace(/\/$/, '') });
    }
  }

  forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) =>
      this.dispatch(route, request, { upstreamResponse: resolve, upstreamError: reject }),
    );
  }

  dispatch(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void {
    const target = this.#pools.get(route.config.service);
    if (!target) {
      receiver.upstreamError(
        new UpstreamError('unavailable', `no upstream configured for service ${route.config.service}`),
      );
      return;
    }
    target.pool.dispatch(
      {
        method: request.method,
        path: target.prefix + request.path,
        headers: request.headers,
        body: request.body ?? null,
      },
      new ForwardHandler(request.cancel, receiver),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map(({ pool }) => pool.close()));
  }
}

function classify(err: unknown): Error {
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
class ForwardHandler implements Dispatcher.DispatchHandler {
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
