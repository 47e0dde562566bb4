// A proxy's (or the upstream's) process tree and its CPU time and event-loop wake-ups, read
// from /proc (Linux), and CPU time per request served.
import { readFileSync } from 'node:fs';
import { DURATION } from './options.js';
import type { Result } from './wrk.js';

/** CPU seconds spent over a measured run, in µs per request it served. */
export function perRequest(cpuSec: number, result: Result): string {
  return ((cpuSec * 1e6) / (result.rps * DURATION)).toFixed(0);
}

/** A process and its descendants (cluster workers), from /proc. */
export function processTree(pid: number): number[] {
  let children = '';
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    // no children file (older kernels): the process alone
  }
  return [
    pid,
    ...children
      .split(' ')
      .filter(Boolean)
      .flatMap((child) => processTree(Number(child))),
  ];
}

/** CPU seconds (user + system) of a process tree. */
export function treeCpu(pid: number): number {
  let sec = 0;
  for (const p of processTree(pid)) {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    sec += (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  }
  return sec;
}

/**
 * A process tree's event-loop wake-ups: voluntary context switches of each process's main
 * thread (it slept, in epoll, and was woken).
 */
export function treeWakeups(pid: number): number {
  let wakeups = 0;
  for (const p of processTree(pid)) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return wakeups;
}
