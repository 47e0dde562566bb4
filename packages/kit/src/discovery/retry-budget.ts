/**
 * Retries allowed as a share of recent requests (plus a small floor), so that retries
 * cannot multiply load on a service that is already failing (Linkerd's retry budget).
 */
export class RetryBudget {
  private requests: number[] = [];
  private retries: number[] = [];

  constructor(
    private readonly ratio = 0.2,
    private readonly minPerWindow = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  recordRequest(): void {
    this.requests.push(this.now());
  }

  /** Takes one retry from the budget if there is one left. */
  tryRetry(): boolean {
    const cutoff = this.now() - this.windowMs;
    this.requests = this.requests.filter((t) => t > cutoff);
    this.retries = this.retries.filter((t) => t > cutoff);
    if (this.retries.length >= this.minPerWindow + this.requests.length * this.ratio) return false;
    this.retries.push(this.now());
    return true;
  }
}
