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
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { spiffeIdOf, startMesh } from './mesh.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
};
const DURATION = Number(arg('duration', '10'));
const CONNECTIONS = Number(arg('connections', '32'));
const THREADS = Number(arg('threads', '1'));
const WORKERS = arg('workers', '1,2').split(',').map(Number);
const ROUNDS = Number(arg('rounds', '1'));
// Skips the peak runs and paces (a), (b) and (c) at this rate (req/s) instead of half of (b)'s peak.
const RATE = Number(arg('rate', '0'));
// Only the peak rounds: no paced runs (a quicker A/B of throughput and CPU per request).
const PEAK_ONLY = process.argv.includes('--peak-only');
const ISSUER = 'https://auth.bench';
const AUDIENCE = 'https://api.bench';
// Another gateway's entry point can be compared (e.g. an older checkout's), on the same setup.
const GATEWAY_MAIN = arg('gateway-main', join(import.meta.dirname, '../../services/gateway/src/main.ts'));
// A second gateway (e.g. the last commit's, copied aside) measured as (b0) in the same rounds,
// alternating with (b): on a noisy host, an A/B within one run says more than two runs.
const COMPARE_MAIN = arg('compare-main', '');
// With --compare-main: that many rounds of (b) and (b0) paced at the same time (each at the
// given req/s, default a quarter of (b)'s peak), CPU time per request of each gateway's
// process tree, paired per round. Both see the host at the same moment, which alternating
// runs cannot give on a shared host.
const AT_ONCE = Number(arg('at-once', '0'));
const AT_ONCE_RATE = Number(arg('at-once-rate', '0'));
// --cpus proxy=1,wrk=0,upstream=0: each part pinned to those CPUs (taskset), the gateway and
// HAProxy alike, so the proxy under test is not descheduled by the load generator or the
// upstream. Unset: the scheduler places everything, as before.
const CPUS = parseCpus(arg('cpus', ''));
// --upstream mtls (default): (b) and (c) reach a Flotilla service over mTLS — the gateway
// through the kit (discovery, its workload certificate, the SPIFFE check), HAProxy with a
// client certificate from the same control plane — and (a) is the same service over plain
// HTTP. --upstream plain: the earlier setup, a bare Node upstream reached by URL over TLS
// with only its server certificate checked (the figures before 2026-12-06 are this one).
const UPSTREAM = arg('upstream', 'mtls');
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
function pinned(part: 'proxy' | 'wrk' | 'upstream', cmd: string, args: string[]): [string, string[]] {
  const cpus = CPUS[part];
  return cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** wrk's socket errors (connect, read, write, timeout): a closed connection is not a request. */
  socketErrors: number;
  /** Paced runs: the delay (ms) each connection waited before each request. */
  delayMs?: number;
}

const run = promisify(execFile);
let stopMesh: () => Promise<void> = async () => {};
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-gw-'));

async function main(): Promise<void> {
  for (const tool of ['wrk', 'haproxy', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing (Debian: apt-get install -y wrk haproxy openssl)`);
    }
  }
  // Edge/upstream certificate for 127.0.0.1, made now, never committed.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  writeFileSync(join(dir, 'edge.pem'), cert + key);

  // Issuer: ES256 key, JWKS for the gateway, SPKI PEM for HAProxy, one long-lived token.
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'jwt-pub.pem'), await exportSPKI(publicKey));
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }],
  });
  const jwksServer = createServer((_q, r) =>
    r.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  );
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'bench-user',
    client_id: 'bench',
    jti: 'bench-1',
    scope: 'videos:read',
    iat: now,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })
    .setExpirationTime('1h')
    .sign(privateKey);

  const mesh = UPSTREAM === 'mtls' ? await startMesh(dir) : undefined;
  stopMesh = async () => mesh?.stop();
  const bare = mesh ? undefined : await startBareUpstream();
  // New TLS connections the bare upstream accepted (the mesh's service does not count them).
  const upstreamConnections = async () =>
    bare
      ? ((await (await fetch(`http://127.0.0.1:${bare.http}/__connections`)).json()) as { https: number })
          .https
      : 0;

  // The gateway's routes: the same route HAProxy serves, limits high enough to refuse nothing.
  writeFileSync(
    join(dir, 'routes.json'),
    JSON.stringify({
      // With the mesh, no URL: the gateway finds `videos` by discovery and calls it over mTLS.
      upstreams: bare ? { videos: `https://127.0.0.1:${bare.https}` } : {},
      throttle: {
        user: { points: 1_000_000_000, duration: 60 },
        policies: { op: { points: 1_000_000_000, duration: 60 } },
      },
      routes: [
        {
          method: 'GET',
          path: '/api/videos/:id',
          service: 'videos',
          upstreamPath: '/videos/:id',
          auth: 'required',
          scopes: ['videos:read'],
          throttle: 'op',
        },
      ],
    }),
  );
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;

  const auth = `Authorization: Bearer ${token}`;
  const direct = {
    url: bare ? `http://127.0.0.1:${bare.http}/videos/42` : `${mesh!.directUrl}/videos/42`,
    headers: [] as string[],
  };
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
  await check('(a)', direct);
  await wrk(direct, 2);
  const a = await wrk(direct, DURATION);
  print('(a) upstream direct, plain HTTP', a);

  for (const workers of WORKERS) {
    if (mesh && workers > 1) {
      // Join tokens are single-use and a workload key never leaves its process, so a gateway
      // with a control plane runs one process; more replicas are more gateways (pods).
      console.log(
        `(b) with ${workers} workers skipped: a gateway with a control plane runs one worker (--upstream plain measures more)`,
      );
      continue;
    }
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
    const b = { url: `${gw.url}/api/videos/42`, headers: [auth] };
    const b0 = gw0 ? { url: `${gw0.url}/api/videos/42`, headers: [auth] } : undefined;
    const c = { url: `https://127.0.0.1:${hp.port}/api/videos/42`, headers: [auth] };
    await check('(b)', b);
    if (b0) await check('(b0)', b0);
    await check('(c)', c);
    let callersBefore: Record<string, number> = {};
    if (mesh) {
      // Each proxy's requests must have arrived over mTLS under its own identity.
      const callers = await mesh.callers();
      for (const who of ['gateway', 'haproxy'])
        if (!((callers[spiffeIdOf(who)] ?? 0) > 0))
          throw new Error(
            `the upstream saw no mTLS request from ${spiffeIdOf(who)}: ${JSON.stringify(callers)}`,
          );
      console.log(`    mTLS callers seen by the upstream: ${JSON.stringify(callers)}`);
      callersBefore = callers;
    }
    const bs: Result[] = [];
    const b0s: Result[] = [];
    const cs: Result[] = [];
    const opened = { b: 0, b0: 0, c: 0 };
    const pids = { b: gw.pid, b0: gw0?.pid ?? 0, c: hp.pid };
    // The upstream shares the host's two cores with the proxy: if one proxy's requests cost it
    // more (more headers, a trace to continue), that proxy has less CPU left.
    const upstreamPid = mesh?.upstreamPid ?? bare!.pid;
    for (let r = 0; r < (RATE ? 0 : ROUNDS); r++) {
      const line: string[] = [];
      for (const [name, target, results] of [
        ['b', b, bs],
        ...(b0 ? ([['b0', b0, b0s]] as const) : []),
        ['c', c, cs],
      ] as const) {
        await wrk(target, 2);
        const before = await upstreamConnections();
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
        opened[name] += (await upstreamConnections()) - before;
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
    if (mesh && !RATE) {
      // And the measured runs too: every request each proxy answered reached the upstream
      // over mTLS under that proxy's identity.
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
    let rate = RATE;
    if (!RATE) {
      const bm = median(bs);
      const cm = median(cs);
      print(`(b) flotilla gateway, ${workers} worker(s), TLS+JWT+policy+ratelimit+TLS upstream`, bm);
      print(`(c) haproxy 2.6, nbthread ${workers}, TLS+jwt_verify+stick-table+TLS upstream`, cm);
      if (b0) {
        const b0m = median(b0s);
        print(`(b0) gateway ${COMPARE_MAIN}`, b0m);
        console.log(`    throughput ratio (b0)/(c) = ${(b0m.rps / cm.rps).toFixed(2)}`);
      }
      console.log(
        `    throughput ratio (b)/(c) = ${(bm.rps / cm.rps).toFixed(2)}; ${mesh ? '' : `new upstream TLS connections during the measured runs: (b) ${opened.b}, (c) ${opened.c}; `}load average ${loadavg()[0]!.toFixed(2)}`,
      );
      rate = bm.rps / 2;
    }
    if (PEAK_ONLY) {
      hp.stop();
      await Promise.all([gw.stop(), gw0?.stop()]);
      continue;
    }

    // p99 at half of (b)'s peak, for (a) and (b): each connection waits between requests
    // (wrk's delay() hook) so the offered load is about that rate. Closed loop: a slow
    // response delays the next request (no coordinated-omission correction as in wrk2).
    // Rounds alternate (a), (b), (c); the median p99 of each is shown, and p99 added is
    // the median of the per-round differences (each against the (a) of its own round).
    const pas: Result[] = [];
    const pbs: Result[] = [];
    const pb0s: Result[] = [];
    const pcs: Result[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      pas.push(await paced(direct, rate));
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
    if (gw0 && b0 && AT_ONCE > 0) await atOnce(gw, b, gw0, b0, AT_ONCE_RATE || rate / 2);
    await gw.stop();
    await gw0?.stop();
    hp.stop();
  }
  jwksServer.close();
}

/** The bare Node upstream of `--upstream plain` (upstream.ts): its plain and TLS ports. */
async function startBareUpstream(): Promise<{ http: number; https: number; pid: number }> {
  const upstream = spawn(
    ...pinned('upstream', process.execPath, [
      '--import',
      'tsx',
      join(import.meta.dirname, 'upstream.ts'),
      join(dir, 'cert.pem'),
      join(dir, 'key.pem'),
    ]),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(upstream);
  const [line] = (await once(createInterface({ input: upstream.stdout }), 'line')) as [string];
  return { ...(JSON.parse(line) as { http: number; https: number }), pid: upstream.pid! };
}

async function startGateway(
  workers: number,
  jwksUrl: string,
  main: string,
  nodeFlags = process.env.GATEWAY_NODE_ARGS,
  meshEnv: Record<string, string> = {},
): Promise<Gateway> {
  // e.g. GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway under load.
  const nodeArgs = (nodeFlags ?? '').split(' ').filter(Boolean);
  const gw = spawn(...pinned('proxy', process.execPath, [...nodeArgs, '--import', 'tsx', main]), {
    env: {
      PATH: process.env.PATH,
      // For a preload given in GATEWAY_NODE_ARGS, e.g. alloc-sampler.ts.
      ...(process.env.ALLOC_PROFILE_DIR ? { ALLOC_PROFILE_DIR: process.env.ALLOC_PROFILE_DIR } : {}),
      ...(process.env.ALLOC_SAMPLE_BYTES ? { ALLOC_SAMPLE_BYTES: process.env.ALLOC_SAMPLE_BYTES } : {}),
      ...(process.env.GC_OBSERVER_INTERVAL_S
        ? { GC_OBSERVER_INTERVAL_S: process.env.GC_OBSERVER_INTERVAL_S }
        : {}),
      GATEWAY_WORKERS: String(workers),
      GATEWAY_ROUTES_FILE: join(dir, 'routes.json'),
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
      // The upstream's certificate is verified, as HAProxy's `verify required` does.
      NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
      TLS_PORT: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: jwksUrl,
      // One home per gateway process tree (two gateways run side by side with --compare-main).
      FLOTILLA_HOME: join(dir, `home-${workers}-${children.length}`),
      FLOTILLA_POLICY_DIR: join(import.meta.dirname, '../../policies'),
      LOG_LEVEL: 'warn',
      ...meshEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(gw);
  const url = await new Promise<string>((resolve, reject) => {
    gw.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before listening`)));
    // GATEWAY_STDOUT_FILE keeps what the gateway prints, e.g. with --trace-opt --trace-deopt.
    const keep = process.env.GATEWAY_STDOUT_FILE
      ? createWriteStream(`${process.env.GATEWAY_STDOUT_FILE}.${children.length}`)
      : undefined;
    createInterface({ input: gw.stdout }).on('line', (l) => {
      keep?.write(`${l}\n`);
      if (l.includes('"listening"')) resolve((JSON.parse(l) as { listening: string }).listening);
    });
  });
  return {
    url,
    pid: gw.pid!,
    stop: async () => {
      gw.kill('SIGTERM');
      if (gw.exitCode === null) await once(gw, 'exit');
    },
  };
}

interface Gateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** CPU seconds spent over a measured run, in µs per request it served. */
function perRequest(cpuSec: number, result: Result): string {
  return ((cpuSec * 1e6) / (result.rps * DURATION)).toFixed(0);
}

/** A process and its descendants (cluster workers), from /proc. */
function processTree(pid: number): number[] {
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
function treeCpu(pid: number): number {
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
function treeWakeups(pid: number): number {
  let wakeups = 0;
  for (const p of processTree(pid)) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return wakeups;
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

/** One paced wrk run with a fixed delay script (no calibration: both targets get the same one). */
async function wrkAt(t: Target, script: string): Promise<Result> {
  return wrk(t, DURATION, CONNECTIONS, script);
}

async function startHaproxy(
  threads: number,
  server: string,
): Promise<{ port: number; pid: number; stop(): void }> {
  const port = await freePort();
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, server, threads));
  const haproxy = spawn(...pinned('proxy', 'haproxy', ['-f', join(dir, 'haproxy.cfg')]), {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(haproxy);
  await new Promise((r) => setTimeout(r, 500));
  return { port, pid: haproxy.pid!, stop: () => void haproxy.kill() };
}

function haproxyConfig(port: number, server: string, threads: number): string {
  // HAProxy 2.6: jwt_verify takes the algorithm and a public key file (SPKI PEM) loaded at start.
  return `global
  maxconn 4000
  nbthread ${threads}
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend edge
  bind 127.0.0.1:${port} ssl crt ${join(dir, 'edge.pem')}
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny status 401 unless { var(txn.alg) -m str ES256 }
  http-request deny status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${join(dir, 'jwt-pub.pem')}") -m int 1 }
  http-request deny status 401 unless { var(txn.bearer),jwt_payload_query('$.iss') -m str ${ISSUER} }
  http-request deny status 401 unless { var(txn.bearer),jwt_payload_query('$.aud') -m str ${AUDIENCE} }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date
  http-request deny status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
  stick-table type string len 64 size 100k expire 60s store http_req_rate(60s)
  http-request track-sc0 var(txn.bearer),jwt_payload_query('$.sub')
  http-request deny status 429 if { sc_http_req_rate(0) gt 1000000000 }
  http-request set-path /videos/42
  default_backend upstream
backend upstream
  # Any idle upstream connection serves any request, as the gateway's pools do (HAProxy's
  # default, safe, opens a new one for each client connection's first request).
  http-reuse always
  ${server}
`;
}

interface Target {
  url: string;
  headers: string[];
}

/** One request through the target first: a setup error shows its answer, not a benchmark of errors. */
async function check(name: string, t: Target): Promise<void> {
  const r = await wrk(t, 1, 1);
  if (r.non2xx > 0 || r.rps === 0) {
    const { stdout: probe } = await run('curl', ['-sk', '-i', ...t.headers.flatMap((h) => ['-H', h]), t.url]);
    throw new Error(`${name}: the warm-up got errors; check the setup\n${probe.slice(0, 600)}`);
  }
}

async function wrk(t: Target, seconds: number, connections = CONNECTIONS, script?: string): Promise<Result> {
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

/**
 * wrk at about `rate` requests/s: every connection waits `delay` ms before each request,
 * so C connections offer C / (delay + latency) requests/s. A 3 s calibration run measures
 * the latency part. Delays are drawn between half and one and a half times the mean, so the
 * connections do not fire in step, and rounded up or down at random (wrk counts whole ms).
 */
async function paced(t: Target, rate: number, delayMs?: number): Promise<Result> {
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

function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function fmt(ms: number): string {
  return Math.abs(ms) < 1 ? `${(ms * 1000).toFixed(0)}us` : `${ms.toFixed(2)}ms`;
}

function median(results: Result[]): Result {
  const sorted = [...results].sort((x, y) => x.rps - y.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The run with the median p99. */
function medianP99(results: Result[]): Result {
  const sorted = [...results].sort((x, y) => x.p99 - y.p99);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function medianOf(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function print(name: string, r: Result): void {
  console.log(
    `${name.padEnd(82)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmt(r.p50).padStart(7)}  p99 ${fmt(r.p99).padStart(7)}  non-2xx ${r.non2xx}${r.socketErrors ? `  socket errors ${r.socketErrors}` : ''}`,
  );
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  return port;
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
