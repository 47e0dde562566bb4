import { Dispatcher } from 'undici';
import { FlotillaError } from '../errors/index.js';
import type { MtlsClient } from '../identity/mtls-client.js';
import { traceHeaders } from '../observability/trace.js';
import { type BalancerKind, createBalancer } from './balancer.js';
import { CallAccounting } from './call-accounting.js';
import { CallAttempts, type CallPath, failBeforeAnswer } from './call-attempts.js';
import { type CallRequest, DEFAULT_CALL_TIMEOUT_MS, type DispatchCall } from './call-request.js';
import type { Catalog } from './catalog.js';
import { InstancePicker } from './instance-picker.js';

export interface ServiceClientOptions {
  balancer?: BalancerKind;
  maxAttempts?: number;
}

/**
 * Calls other services by name: resolves each from the catalog, balances over its healthy
 * instances, ejects failing ones, retries idempotent requests within a budget, fails fast
 * while a service's circuit is open, and sends over mTLS with the SPIFFE peer check. One
 * state machine (`CallAttempts`) runs every call; `call` is undici's promise API over it.
 *
 * @example
 * const client = new ServiceClient(catalog, mtls);
 * const res = await client.call('metadata', { path: '/videos/42' });
 * const video = await res.body.json();
 */
export class ServiceClient {
  readonly #path: CallPath;
  /** Per service, the dispatcher undici's `request()` runs `call` on. */
  readonly #callers = new Map<string, Dispatcher>();

  constructor(catalog: Catalog, mtls: MtlsClient, opts: ServiceClientOptions = {}) {
    const accounting = new CallAccounting(catalog);
    this.#path = {
      picker: new InstancePicker(catalog, createBalancer(opts.balancer ?? 'p2c'), accounting),
      accounting,
      mtls,
      maxAttempts: opts.maxAttempts ?? 3,
    };
  }

  /**
   * Calls `service` and resolves with its answer (the body streams); rejects with a
   * `FlotillaError` when no attempt got one (`FLT_NO_INSTANCE`, `FLT_CIRCUIT_OPEN`,
   * `FLT_UPSTREAM_TIMEOUT`, `FLT_UPSTREAM_FAILED`), or with the signal's reason when aborted.
   *
   * @example
   * const res = await client.call('metadata', { method: 'PUT', path: '/videos/42', body: json });
   */
  call(service: string, req: CallRequest): Promise<Dispatcher.ResponseData> {
    const timeout = req.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    // The origin is never used: each attempt sets its instance's.
    return this.#callerFor(service).request({
      origin: 'https://service.invalid',
      method: req.method ?? 'GET',
      path: req.path,
      headers: { ...traceHeaders(), ...req.headers },
      body: req.body ?? null,
      signal: req.signal ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(req.idempotent === undefined ? {} : { idempotent: req.idempotent }),
    });
  }

  /**
   * `call` without promises (the gateway's hot path): the same attempts, with the answer of
   * the attempt that answers (or the call's `FlotillaError`, at `onResponseError`) given to
   * `handler` on undici's dispatch API. A body streams through; cancel with the controller
   * `handler` receives at `onRequestStart` (each attempt gives it one).
   *
   * @example
   * client.dispatch('metadata', { method: 'GET', path: '/videos/42', headers: {} }, handler);
   */
  dispatch(service: string, req: DispatchCall, handler: Dispatcher.DispatchHandler): void {
    const breaker = this.#path.accounting.admit(service);
    if (!breaker) {
      const open = new FlotillaError('FLT_CIRCUIT_OPEN', `${service} is failing; circuit open`, {
        retryable: true,
      });
      return failBeforeAnswer(handler, open);
    }
    new CallAttempts(this.#path, service, req, handler, breaker).start();
  }

  #callerFor(service: string): Dispatcher {
    let caller = this.#callers.get(service);
    if (!caller) {
      // An undici interceptor that hands every request to `dispatch` instead of the next
      // dispatcher: `request()` then gives its promise, AbortSignal and body stream as ever.
      caller = NOWHERE.compose(
        () =>
          (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
            this.dispatch(service, fromDispatchOptions(opts), handler);
            return true;
          },
      );
      this.#callers.set(service, caller);
    }
    return caller;
  }
}

/** A dispatcher with nothing behind it: `call`'s interceptor never passes a request on. */
const NOWHERE = new Dispatcher();

function fromDispatchOptions(opts: Dispatcher.DispatchOptions): DispatchCall {
  return {
    method: opts.method,
    path: opts.path,
    headers: opts.headers as Record<string, string>,
    body: opts.body as DispatchCall['body'],
    timeoutMs: opts.headersTimeout ?? DEFAULT_CALL_TIMEOUT_MS,
    ...(opts.idempotent === undefined ? {} : { idempotent: opts.idempotent }),
  };
}
