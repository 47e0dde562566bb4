// wrk runs against a target (at peak, or paced with wrk's delay() hook), their parsed
// results, the medians over rounds and the printed result line.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONNECTIONS, dir, DURATION, pinned, THREADS } from './options.js';

export interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** wrk's socket errors (connect, read, write, timeout): a closed connection is not a request. */
  socketErrors: number;
  /** Paced runs: the delay (ms) each connection waited before each request. */
  delayMs?: number;
}

export interface Target {
  url: string;
  headers: string[];
}

const run = promisify(execFile);

/** One request through the target first: a setup error shows its answer, not a benchmark of errors. */
export async function check(name: string, t: Target): Promise<void> {
  const r = await wrk(t, 1, 1);
  if (r.non2xx > 0 || r.rps === 0) {
    const { stdout: probe } = await run('curl', ['-sk', '-i', ...t.headers.flatMap((h) => ['-H', h]), t.url]);
    throw new Error(`${name}: the warm-up got errors; check the setup\n${probe.slice(0, 600)}`);
  }
}

export async function wrk(
  t: Target,
  seconds: number,
  connections = CONNECTIONS,
  script?: string,
): Promise<Result> {
  const args = [
    `-t${Math.min(THREADS, connections)}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    ...(script ? ['-s', script] : []),
    ...t.headers.flatMap((h) => ['-H', h]),
    t.url,
  ];
  const { stdout: out } = await run(...pinned('wrk', 'wrk', args));
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: toMs(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99: toMs(/\s99%\s+(\S+)/.exec(out)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: (/Socket errors:([^\n]*)/.exec(out)?.[1] ?? '')
      .split(',')
      .reduce((n, part) => n + Number(/(\d+)/.exec(part)?.[1] ?? 0), 0),
  };
}

/** One paced wrk run with a fixed delay script (no calibration: both targets get the same one). */
export async function wrkAt(t: Target, script: string): Promise<Result> {
  return wrk(t, DURATION, CONNECTIONS, script);
}

/**
 * wrk at about `rate` requests/s: every connection waits `delay` ms before each request,
 * so C connections offer C / (delay + latency) requests/s. A 3 s calibration run measures
 * the latency part. Delays are drawn between half and one and a half times the mean, so the
 * connections do not fire in step, and rounded up or down at random (wrk counts whole ms).
 */
export async function paced(t: Target, rate: number, delayMs?: number): Promise<Result> {
  const script = join(dir, 'paced.lua');
  writeFileSync(
    script,
    `local mean = tonumber(os.getenv("WRK_DELAY_MS"))
math.randomseed(os.time())
function delay()
  -- Jitter (0.5 to 1.5 times the mean) keeps the connections from firing in step.
  local d = mean * (0.5 + math.random())
  local base = math.floor(d)
  if math.random() < d - base then return base + 1 end
  return base
end
`,
  );
  const period = (CONNECTIONS / rate) * 1000;
  if (delayMs === undefined) {
    process.env.WRK_DELAY_MS = String(period);
    const trial = await wrk(t, 3, CONNECTIONS, script);
    const latency = Math.max(0, (CONNECTIONS / trial.rps) * 1000 - period);
    delayMs = Math.max(0, period - latency);
  }
  process.env.WRK_DELAY_MS = String(delayMs);
  return { ...(await wrk(t, DURATION, CONNECTIONS, script)), delayMs };
}

export function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export function fmt(ms: number): string {
  return Math.abs(ms) < 1 ? `${(ms * 1000).toFixed(0)}us` : `${ms.toFixed(2)}ms`;
}

export function median(results: Result[]): Result {
  const sorted = [...results].sort((x, y) => x.rps - y.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The run with the median p99. */
export function medianP99(results: Result[]): Result {
  const sorted = [...results].sort((x, y) => x.p99 - y.p99);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function medianOf(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function print(name: string, r: Result): void {
  console.log(
    `${name.padEnd(82)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmt(r.p50).padStart(7)}  p99 ${fmt(r.p99).padStart(7)}  non-2xx ${r.non2xx}${r.socketErrors ? `  socket errors ${r.socketErrors}` : ''}`,
  );
}
