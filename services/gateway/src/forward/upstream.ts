import type { Readable } from 'node:stream';
import type { CompiledRoute } from '../routes/route-table.js';

/**
 * The client's end of an upstream call: cancelled when the client goes away before its
 * answer is written. The `AbortSignal` is made only when an upstream asks for one (most
 * requests finish first, and a signal costs more than the request's other objects together).
 */
export class Cancellation {
  #cancelled = false;
  #controller: AbortController | undefined;
  #listeners: Array<() => void> | undefined;

  get cancelled(): boolean {
    return this.#cancelled;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** Runs `listener` when cancelled (at once if already cancelled). */
  onCancel(listener: () => void): void {
    if (this.#cancelled) listener();
    else (this.#listeners ??= []).push(listener);
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#controller?.abort();
    for (const listener of this.#listeners ?? []) listener();
  }
}

export interface UpstreamRequest {
  method: string;
  /** Path and query of the upstream request line, already normalised and re-encoded. */
  path: string;
  headers: Record<string, string | string[]>;
  /** The request body, streamed; undefined when there is none. */
  body: Readable | undefined;
  /** Cancelled when the client goes away first. */
  cancel: Cancellation;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** A small body whole (one write to the client), a large or unsized one streamed as it arrives. */
  body: Readable | Buffer;
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
