import type { Dispatcher } from 'undici';
import { FlotillaError } from '../errors.js';
import type { MtlsClient, MtlsRequest } from '../identity/mtls-client.js';
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
  private readonly maxAttempts: number;

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
      throw new FlotillaError('SERVICE_UNAVAILABLE', `${service} is failing; circuit open`, {
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
        if (RETRYABLE_STATUS.has(res.statusCode)) {
          this.outliers.failure(instance.id, this.catalog.instances(service));
          if (retryable && attempt < this.maxAttempts && this.budget.tryRetry()) {
            await res.body.dump();
            continue;
          }
          breaker.record(false);
          return res;
        }
        this.outliers.success(instance.id);
        breaker.record(true);
        return res;
      } catch (err) {
        lastError = err;
        this.outliers.failure(instance.id, this.catalog.instances(service));
        if (!retryable || attempt >= this.maxAttempts || !this.budget.tryRetry()) break;
      }
    }
    breaker.record(false);
    if (lastError === undefined) {
      throw new FlotillaError('SERVICE_UNAVAILABLE', `no instance of ${service} is available`, {
        retryable: true,
      });
    }
    throw new FlotillaError('BAD_GATEWAY', `${service} could not be reached`, {
      cause: lastError,
      retryable: true,
    });
  }

  /** The instance to try next: healthy, not tried yet for this call, least busy of two. */
  private choose(service: string, tried: Set<string>): Instance | undefined {
    const all = this.catalog.instances(service);
    const fresh = all.filter((i) => !tried.has(i.id));
    const candidates = this.outliers.available(fresh.length > 0 ? fresh : all);
    return this.balancer.pick(candidates, (id) => this.inFlight.get(id) ?? 0);
  }

  private async send(instance: Instance, req: CallRequest): Promise<Dispatcher.ResponseData> {
    this.inFlight.set(instance.id, (this.inFlight.get(instance.id) ?? 0) + 1);
    try {
      return await this.mtls.request(instance.service, originOf(instance), req);
    } finally {
      this.inFlight.set(instance.id, (this.inFlight.get(instance.id) ?? 1) - 1);
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
