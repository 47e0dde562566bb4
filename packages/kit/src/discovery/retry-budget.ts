import { WindowCounts } from './window-counts.js';

/**
 * Retries allowed as a share of recent requests (plus a small floor), so that retries
 * cannot multiply load on a service that is already failing (Linkerd's retry budget).
 */
export class RetryBudget {
  readonly #counts: WindowCounts;

  constructor(
    private readonly ratio = 0.2,
    private readonly minPerWindow = 10,
    windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#counts = new WindowCounts(windowMs, 2);
  }

  recordRequest(): void {
    this.#counts.add(REQUEST, this.now());
  }

  /** Takes one retry from the budget if there is one left. */
  tryRetry(): boolean {
    const now = this.now();
    const allowed = this.minPerWindow + this.#counts.count(REQUEST, now) * this.ratio;
    if (this.#counts.count(RETRY, now) >= allowed) return false;
    this.#counts.add(RETRY, now);
    return true;
  }
}

const REQUEST = 0;
const RETRY = 1;
