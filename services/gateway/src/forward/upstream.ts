import type { Readable } from 'node:stream';
import type { CompiledRoute } from '../routes/route-table.js';

export interface UpstreamRequest {
  method: string;
  /** Path and query of the upstream request line, already normalised and re-encoded. */
  path: string;
  headers: Record<string, string | string[]>;
  /** The request body, streamed; undefined when there is none. */
  body: Readable | undefined;
  /** Aborted when the client goes away or the gateway gives up. */
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Streamed to the client as it arrives (video later). */
  body: Readable;
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
 * How the gateway reaches a service. Today: `UndiciUpstream` to a base URL per service.
 * Next: the kit's discovery-aware mTLS client (`call(service, request)`, SPIFFE peer check)
 * behind this same interface. Implementations throw `UpstreamError` for failures.
 */
export interface Upstream {
  forward(route: CompiledRoute, request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
