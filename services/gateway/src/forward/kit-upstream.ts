import type { DispatchCall } from '@flotilla/kit';
import type { Dispatcher } from 'undici';
import type { CompiledRoute } from '../routes/route-table.js';
import { ForwardHandler } from './forward-handler.js';
import {
  asUpstreamFailure,
  dispatchTo,
  type Upstream,
  type UpstreamReceiver,
  type UpstreamRequest,
} from './upstream.js';

/** The kit's `ctx.dispatch`: discovery, balancing, retries, mTLS with the SPIFFE peer check. */
export type ServiceDispatch = (
  service: string,
  request: DispatchCall,
  handler: Dispatcher.DispatchHandler,
) => void;

/**
 * Upstream through the kit's service client, on its dispatch API: no promise per request,
 * a small answer arrives whole (as from the plain upstream), and the request body streams
 * through to the service with back-pressure (never read into memory here). The kit retries
 * a streamed body only when none of it was sent.
 *
 * @example
 * const upstream = new KitUpstream((service, req, handler) => ctx.dispatch(service, req, handler), 15_000);
 */
export class KitUpstream implements Upstream {
  readonly #dispatch: ServiceDispatch;
  readonly #timeoutMs: number;

  constructor(dispatch: ServiceDispatch, timeoutMs: number) {
    this.#dispatch = dispatch;
    this.#timeoutMs = timeoutMs;
  }

  dispatch(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void {
    const service = route.config.service;
    const handler = new ForwardHandler(request.cancel, receiver, service);
    try {
      this.#dispatch(
        service,
        {
          method: request.method,
          path: request.path,
          headers: flatten(request.headers),
          body: request.body,
          timeoutMs: this.#timeoutMs,
        },
        handler,
      );
    } catch (err) {
      // Thrown, not reported (e.g. no control plane): nothing was sent, nobody can answer.
      receiver.upstreamError(asUpstreamFailure(err, 'FLT_UNAVAILABLE'));
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
