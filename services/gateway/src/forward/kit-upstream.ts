import type { Readable } from 'node:stream';
import { type CallRequest, FlotillaError } from '@flotilla/kit';
import type { Dispatcher } from 'undici';
import type { CompiledRoute } from '../routes/route-table.js';
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

/**
 * Upstream through the kit's service client. The kit's call takes a whole body, so the
 * request body is read first (it is already bounded by BODY_LIMIT); responses stream.
 */
export class KitUpstream implements Upstream {
  readonly #call: ServiceCall;
  readonly #timeoutMs: number;

  constructor(call: ServiceCall, timeoutMs: number) {
    this.#call = call;
    this.#timeoutMs = timeoutMs;
  }

  async forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers))
      headers[k] = Array.isArray(v) ? v.join(k === 'cookie' ? '; ' : ', ') : v;
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
      if (err instanceof FlotillaError) {
        const kind =
          err.code === 'GATEWAY_TIMEOUT'
            ? 'timeout'
            : err.code === 'SERVICE_UNAVAILABLE'
              ? 'unavailable'
              : 'bad-response';
        throw new UpstreamError(kind, err.message, err);
      }
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

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
