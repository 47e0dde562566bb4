import type { Readable } from 'node:stream';
import { type CallRequest, type DispatchCall, FlotillaError } from '@flotilla/kit';
import type { Dispatcher } from 'undici';
import type { CompiledRoute } from '../routes/route-table.js';
import { ForwardHandler, fromKitError } from './forward-handler.js';
import {
  dispatchTo,
  type Upstream,
  UpstreamError,
  type UpstreamReceiver,
  type UpstreamRequest,
  type UpstreamResponse,
} from './upstream.js';

/** The kit's `ctx.call`: discovery, balancing, mTLS with the SPIFFE peer check. */
export type ServiceCall = (service: string, request: CallRequest) => Promise<Dispatcher.ResponseData>;
/** The kit's `ctx.dispatch`: the same for a bodiless request, without promises. */
export type ServiceDispatch = (
  service: string,
  request: DispatchCall,
  handler: Dispatcher.DispatchHandler,
) => void;

/**
 * Upstream through the kit's service client. A request without a body goes through the
 * kit's dispatch (no promise, no stream; a small answer arrives whole, as from the plain
 * upstream). The kit's call takes a whole body, so a request body is read first (it is
 * already bounded by BODY_LIMIT); responses stream.
 */
export class KitUpstream implements Upstream {
  readonly #call: ServiceCall;
  readonly #dispatch: ServiceDispatch | undefined;
  readonly #timeoutMs: number;

  constructor(call: ServiceCall, timeoutMs: number, dispatch?: ServiceDispatch) {
    this.#call = call;
    this.#timeoutMs = timeoutMs;
    this.#dispatch = dispatch;
  }

  dispatch(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void {
    if (request.body || !this.#dispatch) {
      this.forward(route, request).then(
        (res) => receiver.upstreamResponse(res),
        (err: unknown) => receiver.upstreamError(err instanceof Error ? err : new Error(String(err))),
      );
      return;
    }
    const handler = new ForwardHandler(request.cancel, receiver);
    try {
      this.#dispatch(
        route.config.service,
        {
          method: request.method,
          path: request.path,
          headers: flatten(request.headers),
          timeoutMs: this.#timeoutMs,
        },
        handler,
      );
    } catch (err) {
      // Thrown, not reported (e.g. no control plane): the call's failure all the same.
      receiver.upstreamError(
        err instanceof FlotillaError ? fromKitError(err) : new UpstreamError('unavailable', String(err), err),
      );
    }
  }

  async forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse> {
    const headers = flatten(request.headers);
    const body = request.body ? await readAll(request.body) : undefined;
    if (body) headers['content-length'] = String(body.length);
    try {
      const res = await this.#call(route.config.service, {
        method: request.method,
        path: request.path,
        headers,
        ...(body ? { body } : {}),
        timeoutMs: this.#timeoutMs,
        signal: request.cancel.signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      if (err instanceof FlotillaError) throw fromKitError(err);
      const code = (err as { code?: string } | null)?.code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
        throw new UpstreamError('timeout', code, err);
      throw err;
    }
  }

  async close(): Promise<void> {}
}

/** Sends each service to the plain upstream when it has a configured URL, else through the kit. */
export class RoutedUpstream implements Upstream {
  readonly #plain: Upstream;
  readonly #plainServices: ReadonlySet<string>;
  readonly #kit: Upstream;

  constructor(plain: Upstream, plainServices: Iterable<string>, kit: Upstream) {
    this.#plain = plain;
    this.#plainServices = new Set(plainServices);
    this.#kit = kit;
  }

  forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse> {
    return this.#for(route).forward(route, request);
  }

  dispatch(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void {
    dispatchTo(this.#for(route), route, request, receiver);
  }

  #for(route: CompiledRoute): Upstream {
    return this.#plainServices.has(route.config.service) ? this.#plain : this.#kit;
  }

  async close(): Promise<void> {
    await Promise.all([this.#plain.close(), this.#kit.close()]);
  }
}

/** One line per header: repeated values joined (cookies with `; `, RFC 6265 §5.4). */
function flatten(headers: UpstreamRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k]!;
    out[k] = typeof v === 'string' ? v : v.join(k === 'cookie' ? '; ' : ', ');
  }
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
