/** How often, and how patiently, a failing handler is tried before its message is dead-lettered. */
export interface RetryPolicy {
  /** Tries in all, the first included; after the last failure the message is dead-lettered. */
  readonly maxAttempts: number;
  /** Wait before the second try; doubled for each try after it. */
  readonly baseDelayMs: number;
  /** The longest wait between two tries. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 30_000 };

/**
 * The wait before try `attempt + 1`: exponential with "full jitter" (a random wait up to
 * the exponential bound), so that consumers failing together do not retry together.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(bound / 2 + (random() * bound) / 2);
}
