// Gateway benchmark: (a) the upstream directly over plain HTTP, (b) the Flotilla gateway
// (TLS + JWT + policy + rate limit + TLS upstream), (c) HAProxy 2.6 (TLS + jwt_verify +
// stick-table rate limit + TLS upstream). Prints req/s, p50, p99 and the ratio (b)/(c) for
// each worker count (gateway GATEWAY_WORKERS = HAProxy nbthread), then p99 at half of (b)'s
// peak rate for (a), (b) and (c), paced with wrk's delay() hook.
//
//   npx tsx bench/gateway/run.ts [--duration 10] [--connections 32] [--threads 1]
//                                [--workers 1,2] [--rounds 1] [--gateway-main path/to/main.ts]
//                                [--compare-main path/to/other/main.ts] [--rate N]
//                                [--at-once ROUNDS] [--at-once-rate N] [--peak-only]
//                                [--upstream mtls|plain] [--cpus proxy=N,wrk=N,upstream=N]
//
// Needs `wrk` and `haproxy` (Debian: apt-get install -y wrk haproxy) and `openssl`.
// Everything runs on 127.0.0.1 in one go; keys and certificates live in a temp dir
// that is removed at the end.
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type Mesh, spiffeIdOf, startMesh } from './mesh.js';
import {
  AT_ONCE,
  AT_ONCE_RATE,
  children,
  COMPARE_MAIN,
  CONNECTIONS,
  CPUS,
  dir,
  DURATION,
  GATEWAY_MAIN,
  PEAK_ONLY,
  RATE,
  ROUNDS,
  THREADS,
  UPSTREAM,
  WORKERS,
} from './options.js';
import { perRequest, treeCpu, treeWakeups } from './proc-stats.js';
import {
  type BareUpstream,
  type Gateway,
  type Haproxy,
  startBareUpstream,
  startGateway,
  startHaproxy,
} from './proxies.js';
import { checkTools, makeCertificate, startIssuer, writeRoutes } from './setup.js';
import {
  check,
  fmt,
  median,
  medianOf,
  medianP99,
  paced,
  print,
  type Result,
  type Target,
  wrk,
  wrkAt,
} from './wrk.js';

/** What every worker count's runs share: the upstream, (a)'s target and the issuer's token. */
interface Bench {
  /** `--upstream mtls`: the control plane and the mTLS service. */
  mesh: Mesh | undefined;
  /** `--upstream plain`: the bare Node upstream. */
  bare: BareUpstream | undefined;
  /** New TLS connections the bare upstream accepted (the mesh's service does not count them). */
  upstreamConnections(): Promise<number>;
  /** (a): the upstream directly, over plain HTTP. */
  direct: Target;
  jwksUrl: string;
  /** The Authorization header of (b), (b0) and (c). */
  auth: string;
}

/** The proxies of one worker count and the targets through them. */
interface Proxies {
  gw: Gateway;
  gw0: Gateway | undefined;
  hp: Haproxy;
  b: Target;
  b0: Target | undefined;
  c: Target;
}

/** The peak rounds' runs of each proxy, and the new upstream TLS connections each opened. */
interface Peaks {
  bs: Result[];
  b0s: Result[];
  cs: Result[];
  opened: { b: number; b0: number; c: number };
}

let stopMesh: () => Promise<void> = async () => {};

async function main(): Promise<void> {
  checkTools();
  makeCertificate();
  const { jwksServer, jwksUrl, token } = await startIssuer();

  const mesh = UPSTREAM === 'mtls' ? await startMesh(dir) : undefined;
  stopMesh = async () => mesh?.stop();
  const bare = mesh ? undefined : await startBareUpstream();
  writeRoutes(bare);
  const bench: Bench = {
    mesh,
    bare,
    upstreamConnections: async () =>
      bare
        ? ((await (await fetch(`http://127.0.0.1:${bare.http}/__connections`)).json()) as { https: number })
            .https
        : 0,
    direct: {
      url: bare ? `http://127.0.0.1:${bare.http}/videos/42` : `${mesh!.directUrl}/videos/42`,
      headers: [],
    },
    jwksUrl,
    auth: `Authorization: Bearer ${token}`,
  };

  printHeader(mesh);
  await check('(a)', bench.direct);
  await wrk(bench.direct, 2);
  const a = await wrk(bench.direct, DURATION);
  print('(a) upstream direct, plain HTTP', a);

  for (const workers of WORKERS) await benchWorkers(bench, workers);
  jwksServer.close();
}

function printHeader(mesh: Mesh | undefined): void {
  console.log(
    `wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s --latency, small JSON response; ${ROUNDS} round(s) of (b) and (c) alternating, median shown; upstream ${mesh ? 'a Flotilla service: (a) plain HTTP, (b) and (c) mTLS' : 'bare Node: (a) plain HTTP, (b) and (c) TLS'}; ${
      Object.keys(CPUS).length
        ? `pinned ${Object.entries(CPUS)
            .map(([k, v]) => `${k} to CPU ${v}`)
            .join(', ')}; `
        : ''
    }load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

/** One worker count: the proxies started, checked, run at peak and paced, and stopped. */
async function benchWorkers(bench: Bench, workers: number): Promise<void> {
  const { mesh } = bench;
  if (mesh && workers > 1) {
    // Join tokens are single-use and a workload key never leaves its process, so a gateway
    // with a control plane runs one process; more replicas are more gateways (pods).
    console.log(
      `(b) with ${workers} workers skipped: a gateway with a control plane runs one worker (--upstream plain measures more)`,
    );
    return;
  }
  const p = await startProxies(bench, workers);
  await check('(b)', p.b);
  if (p.b0) await check('(b0)', p.b0);
  await check('(c)', p.c);
  const callersBefore = mesh ? await checkCallers(mesh) : {};
  const peaks = await peakRounds(bench, p);
  if (mesh && !RATE) await checkMeasuredCallers(mesh, callersBefore, peaks);
  const rate = RATE ? RATE : peakSummary(bench, workers, p, peaks);
  if (PEAK_ONLY) {
    p.hp.stop();
    await Promise.all([p.gw.stop(), p.gw0?.stop()]);
    return;
  }
  await pacedRounds(bench, p, rate);
  if (p.gw0 && p.b0 && AT_ONCE > 0) await atOnce(p.gw, p.b, p.gw0, p.b0, AT_ONCE_RATE || rate / 2);
  await p.gw.stop();
  await p.gw0?.stop();
  p.hp.stop();
}

/** The gateway (b), the comparison gateway (b0) with --compare-main, and HAProxy (c). */
async function startProxies(bench: Bench, workers: number): Promise<Proxies> {
  const { mesh, bare, jwksUrl, auth } = bench;
  const meshEnv = async () => (mesh ? await mesh.gatewayEnv() : {});
  const gw = await startGateway(workers, jwksUrl, GATEWAY_MAIN, undefined, await meshEnv());
  // COMPARE_NODE_ARGS (default GATEWAY_NODE_ARGS) gives (b0) other Node flags, e.g. a GC setting.
  const gw0 = COMPARE_MAIN
    ? await startGateway(workers, jwksUrl, COMPARE_MAIN, process.env.COMPARE_NODE_ARGS, await meshEnv())
    : undefined;
  const hp = await startHaproxy(
    workers,
    mesh?.haproxyServer() ??
      `server up 127.0.0.1:${bare!.https} ssl verify required ca-file ${join(dir, 'cert.pem')} sni str(localhost) pool-max-conn 512`,
  );
  return {
    gw,
    gw0,
    hp,
    b: { url: `${gw.url}/api/videos/42`, headers: [auth] },
    b0: gw0 ? { url: `${gw0.url}/api/videos/42`, headers: [auth] } : undefined,
    c: { url: `https://127.0.0.1:${hp.port}/api/videos/42`, headers: [auth] },
  };
}

/** The callers the upstream has seen so far, by SPIFFE ID. */
async function checkCallers(mesh: Mesh): Promise<Record<string, number>> {
  // Each proxy's requests must have arrived over mTLS under its own identity.
  const callers = await mesh.callers();
  for (const who of ['gateway', 'haproxy'])
    if (!((callers[spiffeIdOf(who)] ?? 0) > 0))
      throw new Error(`the upstream saw no mTLS request from ${spiffeIdOf(who)}: ${JSON.stringify(callers)}`);
  console.log(`    mTLS callers seen by the upstream: ${JSON.stringify(callers)}`);
  return callers;
}

/** The peak rounds: (b), (b0) and (c) alternating, each proxy's CPU and wake-ups measured. */
async function peakRounds(bench: Bench, p: Proxies): Promise<Peaks> {
  const { bs, b0s, cs, opened }: Peaks = { bs: [], b0s: [], cs: [], opened: { b: 0, b0: 0, c: 0 } };
  const { b, b0, c } = p;
  const pids = { b: p.gw.pid, b0: p.gw0?.pid ?? 0, c: p.hp.pid };
  // The upstream shares the host's two cores with the proxy: if one proxy's requests cost it
  // more (more headers, a trace to continue), that proxy has less CPU left.
  const upstreamPid = bench.mesh?.upstreamPid ?? bench.bare!.pid;
  for (let r = 0; r < (RATE ? 0 : ROUNDS); r++) {
    const line: string[] = [];
    for (const [name, target, results] of [
      ['b', b, bs],
      ...(b0 ? ([['b0', b0, b0s]] as const) : []),
      ['c', c, cs],
    ] as const) {
      await wrk(target, 2);
      const before = await bench.upstreamConnections();
      // The proxy's CPU over the run: how much of a core it got, and its CPU per request. At
      // peak the proxies share two cores with wrk and the upstream, so req/s follows how much
      // CPU the scheduler gave the proxy in that run as much as the work per request.
      const cpuBefore = treeCpu(pids[name]);
      const upBefore = treeCpu(upstreamPid);
      const wakeupsBefore = treeWakeups(pids[name]);
      const result = await wrk(target, DURATION);
      const cpu = treeCpu(pids[name]) - cpuBefore;
      const upCpu = treeCpu(upstreamPid) - upBefore;
      const wakeups = treeWakeups(pids[name]) - wakeupsBefore;
      results.push(result);
      opened[name] += (await bench.upstreamConnections()) - before;
      // How many requests the proxy served per wake-up of its event loop: one that sleeps
      // between requests pays a wake-up for few of them.
      const served = result.rps * DURATION;
      line.push(
        `(${name}) ${result.rps.toFixed(0)} req/s on ${(cpu / DURATION).toFixed(2)} core, ${perRequest(cpu, result)} µs CPU/request (upstream ${perRequest(upCpu, result)}), ${(served / wakeups).toFixed(1)} requests/wake-up`,
      );
    }
    if (ROUNDS > 1)
      console.log(`    peak round ${r + 1}: ${line.join('; ')}; load average ${loadavg()[0]!.toFixed(2)}`);
  }
  return { bs, b0s, cs, opened };
}

/**
 * After the checks, the measured runs too: every request each proxy answered reached the
 * upstream over mTLS under that proxy's identity.
 */
async function checkMeasuredCallers(
  mesh: Mesh,
  callersBefore: Record<string, number>,
  { bs, b0s, cs }: Peaks,
): Promise<void> {
  const callers = await mesh.callers();
  for (const [who, results] of [
    ['gateway', [...bs, ...b0s]],
    ['haproxy', cs],
  ] as const) {
    let served = 0;
    for (const r of results) served += r.rps * DURATION;
    const seen = (callers[spiffeIdOf(who)] ?? 0) - (callersBefore[spiffeIdOf(who)] ?? 0);
    if (seen < served * 0.99)
      throw new Error(
        `${spiffeIdOf(who)}: the upstream saw ${seen} mTLS requests for ${served.toFixed(0)} answered`,
      );
  }
}

/** The peak medians and throughput ratios printed; the paced rate: half of (b)'s median. */
function peakSummary(bench: Bench, workers: number, p: Proxies, { bs, b0s, cs, opened }: Peaks): number {
  const bm = median(bs);
  const cm = median(cs);
  print(`(b) flotilla gateway, ${workers} worker(s), TLS+JWT+policy+ratelimit+TLS upstream`, bm);
  print(`(c) haproxy 2.6, nbthread ${workers}, TLS+jwt_verify+stick-table+TLS upstream`, cm);
  if (p.b0) {
    const b0m = median(b0s);
    print(`(b0) gateway ${COMPARE_MAIN}`, b0m);
    console.log(`    throughput ratio (b0)/(c) = ${(b0m.rps / cm.rps).toFixed(2)}`);
  }
  console.log(
    `    throughput ratio (b)/(c) = ${(bm.rps / cm.rps).toFixed(2)}; ${bench.mesh ? '' : `new upstream TLS connections during the measured runs: (b) ${opened.b}, (c) ${opened.c}; `}load average ${loadavg()[0]!.toFixed(2)}`,
  );
  return bm.rps / 2;
}

/**
 * p99 at half of (b)'s peak, for (a) and (b): each connection waits between requests
 * (wrk's delay() hook) so the offered load is about that rate. Closed loop: a slow
 * response delays the next request (no coordinated-omission correction as in wrk2).
 * Rounds alternate (a), (b), (c); the median p99 of each is shown, and p99 added is
 * the median of the per-round differences (each against the (a) of its own round).
 */
async function pacedRounds(bench: Bench, { b, b0, c }: Proxies, rate: number): Promise<void> {
  const pas: Result[] = [];
  const pbs: Result[] = [];
  const pb0s: Result[] = [];
  const pcs: Result[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    pas.push(await paced(bench.direct, rate));
    // With a comparison gateway, which of the two goes first alternates by round, and the
    // second gets the first's delay: both offered the same pacing (a calibration run on a
    // noisy host can otherwise give one of them a much shorter delay, i.e. more load).
    if (b0 && r % 2 === 0) pb0s.push(await paced(b0, rate));
    pbs.push(await paced(b, rate, b0 && r % 2 === 0 ? pb0s[r]!.delayMs : undefined));
    if (b0 && r % 2 === 1) pb0s.push(await paced(b0, rate, pbs[r]!.delayMs));
    // HAProxy at the same offered load: what this host allows a TLS proxy to add.
    pcs.push(await paced(c, rate));
    if (ROUNDS > 1)
      console.log(
        `    round ${r + 1}: p99 (a) ${fmt(pas[r]!.p99)} (b) ${fmt(pbs[r]!.p99)}${b0 ? ` (b0) ${fmt(pb0s[r]!.p99)}` : ''} (c) ${fmt(pcs[r]!.p99)}; req/s ${[pas[r], pbs[r], ...(b0 ? [pb0s[r]] : []), pcs[r]].map((x) => x!.rps.toFixed(0)).join(' / ')}; load average ${loadavg()[0]!.toFixed(2)}`,
      );
  }
  const addedB = medianOf(pbs.map((x, i) => x.p99 - pas[i]!.p99));
  const addedC = medianOf(pcs.map((x, i) => x.p99 - pas[i]!.p99));
  print(`    paced (a) at ~${rate.toFixed(0)} req/s`, medianP99(pas));
  print(`    paced (b) at ~${rate.toFixed(0)} req/s`, medianP99(pbs));
  if (b0) print(`    paced (b0) at ~${rate.toFixed(0)} req/s`, medianP99(pb0s));
  print(`    paced (c) at ~${rate.toFixed(0)} req/s`, medianP99(pcs));
  console.log(
    `    p99 added at ~${rate.toFixed(0)} req/s: gateway ${fmt(addedB)} (target ≤ 1 ms), haproxy ${fmt(addedC)}; load average ${loadavg()[0]!.toFixed(2)}`,
  );
  if (b0)
    console.log(
      `    p99 added at ~${rate.toFixed(0)} req/s by (b0): ${fmt(medianOf(pb0s.map((x, i) => x.p99 - pas[i]!.p99)))}; (b) − (b0) per round: ${pbs.map((x, i) => fmt(x.p99 - pb0s[i]!.p99)).join(' / ')}`,
    );
}

/**
 * (b) and (b0) paced at `rate` each, at the same time, `AT_ONCE` rounds: requests served,
 * p99 and CPU per request of each, and (b)/(b0) − 1 of CPU per request per round.
 */
async function atOnce(gw: Gateway, b: Target, gw0: Gateway, b0: Target, rate: number): Promise<void> {
  const script = join(dir, 'at-once.lua');
  const mean = (CONNECTIONS / rate) * 1000;
  writeFileSync(
    script,
    `math.randomseed(os.time())
function delay()
  local d = ${mean} * (0.5 + math.random())
  local base = math.floor(d)
  if math.random() < d - base then return base + 1 end
  return base
end
`,
  );
  console.log(`    (b) and (b0) at once, each paced at ~${rate.toFixed(0)} req/s, ${AT_ONCE} rounds:`);
  const diffs: number[] = [];
  for (let r = 0; r < AT_ONCE; r++) {
    const before = [treeCpu(gw.pid), treeCpu(gw0.pid)];
    const [rb, rb0] = await Promise.all([wrkAt(b, script), wrkAt(b0, script)]);
    const after = [treeCpu(gw.pid), treeCpu(gw0.pid)];
    const us = (i: number, x: Result) => ((after[i]! - before[i]!) * 1e6) / (x.rps * DURATION);
    const [ub, ub0] = [us(0, rb), us(1, rb0)];
    diffs.push(ub / ub0 - 1);
    console.log(
      `    round ${r + 1}: (b) ${rb.rps.toFixed(0)} req/s, ${ub.toFixed(0)} µs CPU/request, p99 ${fmt(rb.p99)}; (b0) ${rb0.rps.toFixed(0)} req/s, ${ub0.toFixed(0)} µs CPU/request, p99 ${fmt(rb0.p99)}; CPU/request (b)/(b0) − 1 = ${(100 * (ub / ub0 - 1)).toFixed(1)}%; load average ${loadavg()[0]!.toFixed(2)}`,
    );
  }
  const sorted = [...diffs].sort((x, y) => x - y);
  console.log(
    `    CPU/request (b)/(b0) − 1: median ${(100 * medianOf(diffs)).toFixed(1)}% (${sorted.filter((d) => d < 0).length} of ${diffs.length} rounds lower; ${(100 * sorted[0]!).toFixed(1)}% … ${(100 * sorted[sorted.length - 1]!).toFixed(1)}%)`,
  );
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) if (c.exitCode === null) c.kill();
    await stopMesh().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    // The in-process control plane keeps timers; the benchmark is over.
    process.exit();
  });
