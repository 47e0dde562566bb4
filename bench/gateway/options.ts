// The gateway benchmark's command-line flags (documented at the top of run.ts) and the run's
// shared state: the temp dir for keys, certificates and configuration, and the child
// processes to end when the run is over. Read once, when the benchmark starts.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
};
export const DURATION = Number(arg('duration', '10'));
export const CONNECTIONS = Number(arg('connections', '32'));
export const THREADS = Number(arg('threads', '1'));
export const WORKERS = arg('workers', '1,2').split(',').map(Number);
export const ROUNDS = Number(arg('rounds', '1'));
// Skips the peak runs and paces (a), (b) and (c) at this rate (req/s) instead of half of (b)'s peak.
export const RATE = Number(arg('rate', '0'));
// Only the peak rounds: no paced runs (a quicker A/B of throughput and CPU per request).
export const PEAK_ONLY = process.argv.includes('--peak-only');
export const ISSUER = 'https://auth.bench';
export const AUDIENCE = 'https://api.bench';
// Another gateway's entry point can be compared (e.g. an older checkout's), on the same setup.
export const GATEWAY_MAIN = arg(
  'gateway-main',
  join(import.meta.dirname, '../../services/gateway/src/main.ts'),
);
// A second gateway (e.g. the last commit's, copied aside) measured as (b0) in the same rounds,
// alternating with (b): on a noisy host, an A/B within one run says more than two runs.
export const COMPARE_MAIN = arg('compare-main', '');
// With --compare-main: that many rounds of (b) and (b0) paced at the same time (each at the
// given req/s, default a quarter of (b)'s peak), CPU time per request of each gateway's
// process tree, paired per round. Both see the host at the same moment, which alternating
// runs cannot give on a shared host.
export const AT_ONCE = Number(arg('at-once', '0'));
export const AT_ONCE_RATE = Number(arg('at-once-rate', '0'));
// --cpus proxy=1,wrk=0,upstream=0: each part pinned to those CPUs (taskset), the gateway and
// HAProxy alike, so the proxy under test is not descheduled by the load generator or the
// upstream. Unset: the scheduler places everything, as before.
export const CPUS = parseCpus(arg('cpus', ''));
// --upstream mtls (default): (b) and (c) reach a Flotilla service over mTLS — the gateway
// through the kit (discovery, its workload certificate, the SPIFFE check), HAProxy with a
// client certificate from the same control plane — and (a) is the same service over plain
// HTTP. --upstream plain: the earlier setup, a bare Node upstream reached by URL over TLS
// with only its server certificate checked (the figures before 2026-12-06 are this one).
export const UPSTREAM = arg('upstream', 'mtls');
if (UPSTREAM !== 'mtls' && UPSTREAM !== 'plain')
  throw new Error(`--upstream: "${UPSTREAM}" is not mtls or plain`);

function parseCpus(text: string): Partial<Record<'proxy' | 'wrk' | 'upstream', string>> {
  const cpus: Partial<Record<'proxy' | 'wrk' | 'upstream', string>> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const m = /^(proxy|wrk|upstream)=(\d+(?:-\d+)?)$/.exec(part);
    if (!m)
      throw new Error(
        `--cpus: "${part}" is not proxy=N, wrk=N or upstream=N (N a CPU or a range such as 0-1)`,
      );
    cpus[m[1] as 'proxy' | 'wrk' | 'upstream'] = m[2]!;
  }
  return cpus;
}

/** The command and its arguments, under `taskset -c` when --cpus names CPUs for that part. */
export function pinned(part: 'proxy' | 'wrk' | 'upstream', cmd: string, args: string[]): [string, string[]] {
  const cpus = CPUS[part];
  return cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
}

// Made only once the flags above are valid, so a bad flag leaves no temp dir behind; run.ts
// ends the children and removes the dir when the benchmark is over.
export const children: ChildProcess[] = [];
export const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-gw-'));
