import { UsageError } from '../cli/usage-error.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: a duration back from `now` (`30s`, `10m`, `2h`, `1d`) or a time (ISO 8601).
 *
 * @example
 * sinceTime('10m', Date.now()); // ten minutes ago, in epoch ms
 */
export function sinceTime(value: string, now: number): number {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (m?.[1] && m[2]) return now - Number(m[1]) * (UNITS[m[2]] ?? 0);
  const at = Date.parse(value);
  if (Number.isNaN(at))
    throw new UsageError(
      `--since must be a duration such as 10m, 2h or 1d, or an ISO time (got "${value}")`,
      'Run "flotilla logs --help" for its flags',
    );
  return at;
}

/** `--tail N`: a whole number of lines. */
export function tailCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new UsageError(
      `--tail must be a whole number of lines (got "${value}")`,
      'Run "flotilla logs --help" for its flags',
    );
  return n;
}
