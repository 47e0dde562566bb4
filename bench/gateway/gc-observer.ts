// GC pauses and event-loop delay of the gateway under the benchmark, as a preload:
//
//   GATEWAY_NODE_ARGS="--import tsx --import /abs/path/bench/gateway/gc-observer.ts" \
//     npx tsx bench/gateway/run.ts --workers 1 --rate 3000 --rounds 3
//
// Every GC_OBSERVER_INTERVAL_S seconds (default 5) in which the gateway served requests,
// and once more on SIGTERM, it prints on stderr one line: the process's Node flags,
// requests served, scavenges and mark-compacts (count, total and longest pause), pauses
// over 1 ms, and the event loop's delay (p50, p99, max; 1 ms resolution, so ~1.1 ms is
// its floor), and the process's CPU time (user + system) per request, from its first
// request on (idle periods included: timers are cheap). With `--compare-main` and COMPARE_NODE_ARGS, two gateways with different
// flags can be told apart by the flags printed.
import { subscribe } from 'node:diagnostics_channel';
import {
  constants,
  monitorEventLoopDelay,
  type PerformanceEntry,
  PerformanceObserver,
} from 'node:perf_hooks';

interface Window {
  requests: number;
  /** process.cpuUsage() when the window opened (the whole run's: at its first request). */
  cpu: NodeJS.CpuUsage | undefined;
  scavenges: number[];
  majors: number[];
  others: number[];
}

const fresh = (): Window => ({ requests: 0, cpu: undefined, scavenges: [], majors: [], others: [] });
let current = fresh();
const total = fresh();
subscribe('http.server.request.start', () => {
  if (current.requests++ === 0) current.cpu = process.cpuUsage();
  if (total.requests++ === 0) total.cpu = process.cpuUsage();
});

const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    const bucket =
      kind === constants.NODE_PERFORMANCE_GC_MINOR
        ? 'scavenges'
        : kind === constants.NODE_PERFORMANCE_GC_MAJOR
          ? 'majors'
          : 'others';
    current[bucket].push(entry.duration);
    total[bucket].push(entry.duration);
  }
});
gc.observe({ entryTypes: ['gc'] });

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const flags = process.execArgv.filter((a) => a.startsWith('--') && !a.startsWith('--import')).join(' ');
const intervalMs = Number(process.env.GC_OBSERVER_INTERVAL_S ?? 5) * 1000;

function line(label: string, w: Window, withDelay: boolean): string {
  const stat = (xs: number[]) =>
    `${xs.length} (${sum(xs).toFixed(0)} ms, max ${(xs.length ? Math.max(...xs) : 0).toFixed(1)} ms)`;
  const pauses = [...w.scavenges, ...w.majors, ...w.others];
  const over1 = pauses.filter((d) => d > 1).length;
  const loop = withDelay
    ? `; loop delay p50 ${ms(delay.percentile(50))} p99 ${ms(delay.percentile(99))} max ${ms(delay.max)}`
    : '';
  const used = w.cpu ? process.cpuUsage(w.cpu) : undefined;
  const cpu = used && w.requests ? ((used.user + used.system) / w.requests).toFixed(0) : '-';
  return `gc-observer ${process.pid} [${flags || 'default flags'}] ${label}: ${w.requests} requests, CPU ${cpu} µs/request; scavenges ${stat(w.scavenges)}, mark-compacts ${stat(w.majors)}, other ${stat(w.others)}; pauses > 1 ms ${over1} (${w.requests ? ((1000 * over1) / w.requests).toFixed(2) : '-'} per 1000 requests)${loop}\n`;
}

const timer = setInterval(() => {
  if (current.requests > 0) process.stderr.write(line(`last ${intervalMs / 1000} s`, current, true));
  current = fresh();
  delay.reset();
}, intervalMs);
timer.unref();

process.prependListener('SIGTERM', () => {
  clearInterval(timer);
  process.stderr.write(line('whole run', total, false));
});

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(2)} ms`;
}
