/** A dependency check: resolves when the dependency is usable, throws (or rejects) when not. */
export type HealthCheck = () => Promise<void> | void;

export interface ReadinessReport {
  status: 'ready' | 'unready';
  checks: Record<string, { ok: boolean; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2000;

/**
 * Whether the service can take requests: every check passes and it is not shutting
 * down. `/readyz` answers with `report()`, and the registry hears of it through the
 * heartbeat's readiness.
 */
export class Readiness {
  readonly #checks = new Map<string, HealthCheck>();
  #draining = false;

  /** Adds (or replaces) the check called `name`. */
  add(name: string, check: HealthCheck): void {
    this.#checks.set(name, check);
  }

  /** From now on the service reports itself unready: it is shutting down. */
  drain(): void {
    this.#draining = true;
  }

  report(): Promise<ReadinessReport> {
    return runChecks(this.#checks, this.#draining);
  }
}

/** Runs all checks in parallel, each bounded by a timeout, and reports per check. */
export async function runChecks(
  checks: Map<string, HealthCheck>,
  draining: boolean,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    [...checks].map(async ([name, check]) => {
      try {
        await withTimeout(Promise.resolve().then(check), CHECK_TIMEOUT_MS);
        return [name, { ok: true }] as const;
      } catch (err) {
        return [name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
      }
    }),
  );
  const result: ReadinessReport['checks'] = Object.fromEntries(entries) as ReadinessReport['checks'];
  if (draining) result.shutdown = { ok: false, error: 'shutting down' };
  const ok = Object.values(result).every((c) => c.ok);
  return { status: ok ? 'ready' : 'unready', checks: result };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
