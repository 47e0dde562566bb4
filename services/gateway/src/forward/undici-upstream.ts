import { Pool } from 'undici';
import type { CompiledRoute } from '../routes/route-table.js';
import { type Upstream, UpstreamError, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

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

  async forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse> {
    const target = this.#pools.get(route.config.service);
    if (!target)
      throw new UpstreamError('unavailable', `no upstream configured for service ${route.config.service}`);
    try {
      const res = await target.pool.request({
        method: request.method,
        path: target.prefix + request.path,
        headers: request.headers,
        body: request.body ?? null,
        signal: request.signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw classify(err);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map(({ pool }) => pool.close()));
  }
}

function classify(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code && UNAVAILABLE.has(code))
    return new UpstreamError('unavailable', `upstream unavailable (${code})`, err);
  if (code && TIMEOUT.has(code)) return new UpstreamError('timeout', `upstream timed out (${code})`, err);
  // Aborts (client gone, body over the limit) keep their own error for the caller to judge.
  if ((err as Error | null)?.name === 'AbortError' || code === 'UND_ERR_ABORTED') return err;
  if (err instanceof UpstreamError) return err;
  return new UpstreamError('bad-response', `upstream failed (${code ?? (err as Error).message})`, err);
}
