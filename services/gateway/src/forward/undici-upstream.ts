import { FlotillaError } from '@flotilla/kit';
import { Pool } from 'undici';
import type { CompiledRoute } from '../routes/route-table.js';
import { ForwardHandler } from './forward-handler.js';
import type { Upstream, UpstreamReceiver, UpstreamRequest } from './upstream.js';

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

/** A plain HTTP(S) upstream per service, with a keep-alive pool each; bodies stream both ways. */
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

  dispatch(route: CompiledRoute, request: UpstreamRequest, receiver: UpstreamReceiver): void {
    const target = this.#pools.get(route.config.service);
    if (!target) {
      return receiver.upstreamError(
        new FlotillaError('FLT_UNAVAILABLE', `no upstream configured for service ${route.config.service}`),
      );
    }
    target.pool.dispatch(
      {
        method: request.method,
        path: target.prefix + request.path,
        headers: request.headers,
        body: request.body ?? null,
      },
      new ForwardHandler(request.cancel, receiver, route.config.service),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map(({ pool }) => pool.close()));
  }
}
