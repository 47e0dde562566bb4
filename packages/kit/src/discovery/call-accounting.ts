import type { Catalog } from './catalog.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Instance } from './instance.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryBudget } from './retry-budget.js';

/**
 * What the client's calls have done, kept in one place: attempts in flight per instance
 * (for the balancer), each instance's recent failures (outlier ejection), each service's
 * circuit, and the retry budget. The attempt state machine tells it each attempt's outcome
 * once; it never calls back.
 *
 * @example
 * const accounting = new CallAccounting(catalog);
 * const breaker = accounting.admit('metadata'); // undefined: the circuit is open
 */
export class CallAccounting {
  readonly #catalog: Catalog;
  readonly #inFlight = new Map<string, number>();
  readonly #outliers: OutlierDetector;
  readonly #budget: RetryBudget;
  readonly #breakers = new Map<string, CircuitBreaker>();
  /** What each instance is busy with now, for the balancer (one function, not one per pick). */
  readonly load = (id: string): number => this.#inFlight.get(id) ?? 0;

  constructor(catalog: Catalog, outliers = new OutlierDetector(), budget = new RetryBudget()) {
    this.#catalog = catalog;
    this.#outliers = outliers;
    this.#budget = budget;
  }

  /**
   * A new call to `service`: its circuit's breaker when the circuit lets it through (the
   * budget counts the call), undefined when it is open.
   */
  admit(service: string): CircuitBreaker | undefined {
    const breaker = this.breakerFor(service);
    if (!breaker.allow()) return undefined;
    this.#budget.recordRequest();
    return breaker;
  }

  /** The instances not ejected for failing (all of them if none is left). */
  available(instances: readonly Instance[]): readonly Instance[] {
    return this.#outliers.available(instances);
  }

  attemptStarted(instance: Instance): void {
    this.#inFlight.set(instance.id, (this.#inFlight.get(instance.id) ?? 0) + 1);
  }

  /** The attempt's exchange is over (answered in full, failed or cancelled). */
  attemptEnded(instance: Instance): void {
    this.#inFlight.set(instance.id, (this.#inFlight.get(instance.id) ?? 1) - 1);
  }

  /** The instance answered; `failed` when the status says it could not serve (a 502/503/504). */
  answered(instance: Instance, failed: boolean): void {
    if (failed) this.failed(instance);
    else this.#outliers.success(instance.id);
  }

  /** The instance did not answer (connection, TLS, timeout, broken response). */
  failed(instance: Instance): void {
    this.#outliers.failure(instance.id, this.#catalog.instances(instance.service));
  }

  /** Takes one retry from the budget if there is one left. */
  tryRetry(): boolean {
    return this.#budget.tryRetry();
  }

  breakerFor(service: string): CircuitBreaker {
    let breaker = this.#breakers.get(service);
    if (!breaker) {
      breaker = new CircuitBreaker();
      this.#breakers.set(service, breaker);
    }
    return breaker;
  }
}
