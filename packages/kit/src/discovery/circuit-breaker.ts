import { WindowCounts } from './window-counts.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  /** Requests in the window before the breaker may open (default 20). */
  minRequests?: number;
  /** Failure share that opens it (default 0.5). */
  failureRatio?: number;
  windowMs?: number;
  /** How long it stays open before one probe is let through (default 5 s). */
  openMs?: number;
}

/**
 * Stops calling a service that keeps failing, so callers fail fast instead of piling
 * up; after a pause one probe request decides whether to close again.
 */
export class CircuitBreaker {
  readonly #outcomes: WindowCounts;
  private openedAt = 0;
  private probing = false;
  state: CircuitState = 'closed';

  constructor(
    private readonly opts: CircuitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.#outcomes = new WindowCounts(opts.windowMs ?? 10_000, 2);
  }

  /** Whether a request may go now; in half-open state only one probe at a time. */
  allow(): boolean {
    if (this.state === 'open' && this.now() - this.openedAt >= (this.opts.openMs ?? 5_000)) {
      this.state = 'half-open';
      this.probing = false;
    }
    if (this.state === 'closed') return true;
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /**
   * A call let through ended without an outcome (its caller cancelled it): in half-open
   * state the probe is free again, or the circuit would wait forever for its answer.
   */
  abandon(): void {
    if (this.state === 'half-open') this.probing = false;
  }

  record(ok: boolean): void {
    if (this.state === 'half-open') {
      this.probing = false;
      if (ok) this.close();
      else this.open();
      return;
    }
    const now = this.now();
    this.#outcomes.add(ok ? OK : FAILED, now);
    const failures = this.#outcomes.count(FAILED, now);
    const total = failures + this.#outcomes.count(OK, now);
    if (total >= (this.opts.minRequests ?? 20) && failures / total >= (this.opts.failureRatio ?? 0.5)) {
      this.open();
    }
  }

  private open(): void {
    this.state = 'open';
    this.openedAt = this.now();
  }

  private close(): void {
    this.state = 'closed';
    this.#outcomes.clear();
  }
}

const OK = 0;
const FAILED = 1;
