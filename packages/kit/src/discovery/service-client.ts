import type { Dispatcher } from 'undici';
import { FlotillaError } from '../errors/index.js';
import type { MtlsClient, MtlsRequest } from '../identity/mtls-client.js';
import { AttemptHandler, type AttemptOwner, type DispatchCall } from './dispatch-call.js';
import type { BalancerKind } from './balancer.js';
import { createBalancer } from './balancer.js';
import type { Catalog } from './catalog.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { type Instance, originOf } from './instance.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryBudget } from './retry-budget.js';

export interface CallRequest extends MtlsRequest {
  /** Retry on failure even though the method is not idempotent (the caller vouches for it). */
  idempotent?: boolean;
}

export interface ServiceClientOptions {
  balancer?: BalancerKind;
  maxAttempts?: number;
}

// RFC 9110 §9.2.2: these methods may be repeated without changing the outcome.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * `call(service, request)`: resolves the service from the catalog, balances over its
 * healthy instances, ejects failing ones, retries idempotent requests within a
 * budget, and fails fast while a service's circuit is open.
 */
export class ServiceClient {
  private readonly inFlight = new Map<string, number>();
  private readonly outliers = new OutlierDetector();
  private readonly budget = new RetryBudget();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly balancer;
  /** What each instance is busy with now, for the balancer (one function, not one per pick). */
  private readonly load = (id: string) => this.inFlight.get(id) ?? 0;
  /** @internal How many attempts a call may make. */
  readonly maxAttempts: number;

  constructor(
    private readonly catalog: Catalog,
    private readonly mtls: MtlsClient,
    opts: ServiceClientOptions = {},
  ) {
    this.balancer = createBalancer(opts.balancer ?? 'p2c');
    this.maxAttempts = opts.maxAttempts ?? 3;
  }

  async call(service: string, req: CallRequest): Promise<Dispatcher.ResponseData> {
    const breaker = this.breakerFor(service);
    if (!breaker.allow()) {
      throw new FlotillaError('FLT_UNAVAILABLE', `${service} is failing; circuit open`, {
        retryable: true,
      });
    }
    const retryable = req.idempotent ?? IDEMPOTENT.has(req.method ?? 'GET');
    this.budget.recordRequest();
    const tried = new Set<string>();
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const instance = this.choose(service, tried);
      if (!instance) break;
      tried.add(instance.id);
      try {
        const res = await this.send(instance, req);
        this.attemptAnswered(instance, res.statusCode);
        if (RETRYABLE_STATUS.has(res.statusCode)) {
          if (retryable && attempt < this.maxAttempts && this.budget.tryRetry()) {
            await res.body.dump();
            continue;
          }
          breaker.record(false);
          return res;
        }
        breaker.record(true);
        return res;
      } catch (err) {
        lastError = err;
        this.attemptFailed(instance);
        if (!retryable || attempt >= this.maxAttempts || !this.budget.tryRetry()) break;
      }
    }
    breaker.record(false);
    if (lastError === undefined) {
      throw new FlotillaError('FLT_UNAVAILABLE', `no instance of ${service} is available`, {
        retryable: true,
      });
    }
    throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} could not be reached`, {
      cause: lastError,
      retryable: true,
    });
  }

  /**
   * `call` without promises, for a bodiless request on a hot path (the gateway): the same
   * discovery, balancing, ejection, retries within the budget and circuit breaking, with
   * the response (or the failure, a `FlotillaError` as `call` throws) given to `handler`
   * through undici's dispatch API. Only the attempt that answers reaches `handler`.
   */
  dispatch(service: string, req: DispatchCall, handler: Dispatcher.DispatchHandler): void {
    const breaker = this.breakerFor(service);
    if (!breaker.allow()) {
      const err = new FlotillaError('FLT_UNAVAILABLE', `${service} is failing; circuit open`, {
        retryable: true,
      });
      return void handler.onResponseError?.(NO_CONTROLLER, err);
    }
    this.budget.recordRequest();
    new DispatchedCall(this, service, req, handler, breaker).attempt();
  }

  /** @internal Starts one attempt of a dispatched call; false when no instance is left. */
  sendAttempt(call: DispatchedCall, tried: Set<string> | undefined): boolean {
    const instance = this.choose(call.service, tried);
    if (!instance) return false;
    const agent = this.mtls.agentFor(call.service); // throws without identity material: nothing sent
    call.current = instance; // before dispatching: undici may answer the handler at once
    this.inFlight.set(instance.id, (this.inFlight.get(instance.id) ?? 0) + 1);
    agent.dispatch(
      {
        origin: originOf(instance),
        method: call.req.method,
        path: call.req.path,
        headers: call.req.headers,
        headersTimeout: call.req.timeoutMs,
        bodyTimeout: call.req.timeoutMs,
      },
      new AttemptHandler(call, call.handler),
    );
    return true;
  }

  /** @internal */
  attemptEnded(instance: Instance): void {
    this.inFlight.set(instance.id, (this.inFlight.get(instance.id) ?? 1) - 1);
  }

  /** @internal */
  attemptFailed(instance: Instance): void {
    this.outliers.failure(instance.id, this.catalog.instances(instance.service));
  }

  /** @internal */
  attemptAnswered(instance: Instance, status: number): void {
    if (RETRYABLE_STATUS.has(status))
      this.outliers.failure(instance.id, this.catalog.instances(instance.service));
    else this.outliers.success(instance.id);
  }

  /** @internal */
  tryRetry(): boolean {
    return this.budget.tryRetry();
  }

  /** The instance to try next: healthy, not tried yet for this call, least busy of two. */
  private choose(service: string, tried: Set<string> | undefined): Instance | undefined {
    const all = this.catalog.instances(service);
    const fresh = tried?.size ? all.filter((i) => !tried.has(i.id)) : all;
    return this.balancer.pick(this.outliers.available(fresh.length > 0 ? fresh : all), this.load);
  }

  private async send(instance: Instance, req: CallRequest): Promise<Dispatcher.ResponseData> {
    this.inFlight.set(instance.id, (this.inFlight.get(instance.id) ?? 0) + 1);
    try {
      return await this.mtls.request(instance.service, originOf(instance), req);
    } finally {
      this.attemptEnded(instance);
    }
  }

  private breakerFor(service: string): CircuitBreaker {
    let breaker = this.breakers.get(service);
    if (!breaker) {
      breaker = new CircuitBreaker();
      this.breakers.set(service, breaker);
    }
    return breaker;
  }
}

/** For a failure reported before any connection was asked for (the circuit is open). */
const NO_CONTROLLER = {
  abort() {},
  pause() {},
  resume() {},
  aborted: false,
  paused: false,
  reason: null,
} as unknown as Dispatcher.DispatchController;

/** A dispatched call across its attempts, with `call`'s retry rules. */
class DispatchedCall implements AttemptOwner {
  readonly #client: ServiceClient;
  readonly service: string;
  readonly req: DispatchCall;
  readonly handler: Dispatcher.DispatchHandler;
  readonly #breaker: CircuitBreaker;
  readonly #retryable: boolean;
  /** The instance of the attempt under way (set by the client as it sends it). */
  current: Instance | undefined;
  #tried: Set<string> | undefined;
  #attempts = 0;
  #lastError: Error | undefined;

  constructor(
    client: ServiceClient,
    service: string,
    req: DispatchCall,
    handler: Dispatcher.DispatchHandler,
    breaker: CircuitBreaker,
  ) {
    this.#client = client;
    this.service = service;
    this.req = req;
    this.handler = handler;
    this.#breaker = breaker;
    this.#retryable = req.idempotent ?? IDEMPOTENT.has(req.method);
  }

  attempt(): void {
    if (this.current) (this.#tried ??= new Set()).add(this.current.id);
    this.#attempts++;
    let sent: boolean;
    try {
      sent = this.#client.sendAttempt(this, this.#tried);
    } catch (err) {
      return this.#giveUp(err instanceof Error ? err : new Error(String(err)));
    }
    if (!sent) this.#giveUp(undefined);
  }

  wantsRetry(status: number): boolean {
    return RETRYABLE_STATUS.has(status) && this.#mayRetry();
  }

  answered(status: number): void {
    this.#client.attemptAnswered(this.current!, status);
    this.#breaker.record(!RETRYABLE_STATUS.has(status));
  }

  failed(err: Error | undefined): void {
    if (err) this.#lastError = err;
    this.#client.attemptFailed(this.current!);
    // A retried status (no error) was already granted its retry; an error asks now.
    if (!err || this.#mayRetry()) return this.attempt();
    this.#giveUp(err);
  }

  /** Another attempt is allowed: by the method, the attempts left and the retry budget. */
  #mayRetry(): boolean {
    return this.#retryable && this.#attempts < this.#client.maxAttempts && this.#client.tryRetry();
  }

  done(): void {
    this.#client.attemptEnded(this.current!);
  }

  #giveUp(err: Error | undefined): void {
    this.#breaker.record(false);
    const error =
      err === undefined && this.#lastError === undefined
        ? new FlotillaError('FLT_UNAVAILABLE', `no instance of ${this.service} is available`, {
            retryable: true,
          })
        : new FlotillaError('FLT_UPSTREAM_FAILED', `${this.service} could not be reached`, {
            cause: err ?? this.#lastError,
            retryable: true,
          });
    this.handler.onResponseError?.(NO_CONTROLLER, error);
  }
}
