/** A dependency check: resolves when the dependency is usable, throws (or rejects) when not. */
export type HealthCheck = () => Promise<void> | void;

export interface ReadinessReport {
  status: 'ready' | 'unready';
  checks: Record<string, { ok: boolean; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2000;

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
