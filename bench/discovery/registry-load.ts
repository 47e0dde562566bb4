/**
 * Longer than 400 lines on purpose: one measurement (setup, load, report) reads best as one
 * file, and a fifth of it is this description.
 *
 * Registry load (issue 4): CPU and memory of a real control plane while 1,000 instances
 * heartbeat once a second. Run: npx tsx bench/discovery/registry-load.ts
 * (BENCH_INSTANCES, BENCH_SECONDS to tune; about 70 s with the defaults).
 *
 * The control plane runs in its own process (bench/discovery/control-child.ts, started with
 * `node --import tsx`, temp FLOTILLA_HOME, on-disk PGlite, LOG_LEVEL=silent (BENCH_LOG_LEVEL=info
 * for a service's default: its log lines go to a pipe this process reads and drops),
 * REGISTRY_HEALTH_INTERVAL_MS=600000 so that no active health check runs and only the
 * heartbeats load it, REGISTRY_TTL_SECONDS=10), so that its CPU time (utime + stime from
 * /proc/<pid>/stat) and RSS (VmRSS from /proc/<pid>/status) are its own.
 *
 * From this process:
 * FLOTILLA_HOME is on /dev/shm when there is one (see below: it only shortens the setup).
 *
 *   1. idle baseline: the control plane's CPU for 4 s with nothing registered;
 *   2. 10 workload identities (services svc-0 … svc-9: join token from POST /v1/join-tokens
 *      with the admin token, then WorkloadIdentity.join), each registering 100 instances
 *      at 127.0.0.1 with distinct ports — 1,000 instances. Minting 1,000 identities would
 *      only slow the setup; the registry's per-heartbeat work does not depend on it;
 *   3. every instance has its own MtlsClient (so its own keep-alive mTLS connection, 1,000 in
 *      all, as 1,000 processes would) and runs the kit's own `Registration` — exactly what a
 *      service instance runs: it registers, then heartbeats once a second the way the
 *      registry offers (a heartbeat stream: one PUT …/heartbeats carrying a `\n` a second for
 *      15 s), started at a random phase in the second.
 *      BENCH_HEARTBEATS=request instead PUTs /v1/registry/instances/:id/heartbeat once a second
 *      per instance (what a kit does when the registry offers no stream, and what every kit
 *      did before streams), for a comparison under the same conditions;
 *   4. after a 4 s warm-up, the control plane's CPU (also by thread) and RSS over
 *      BENCH_SECONDS (20 s). Heartbeats are counted by the registry itself (its listing's
 *      per-instance `heartbeats`, read before and after the window), with the stalest
 *      instance's last heartbeat at the end.
 *
 * BENCH_BACKGROUND=1 adds, per instance, the rest of what a kit asks the control plane
 * (over the kit's pools, as a service does: its identity's and its client's): the trust bundle and
 * the CRLs every 15 s (FLOTILLA_REFRESH_MS), and the policy bundle long poll (held up to 20 s,
 * FLOTILLA_POLICY_LONG_POLL_S), at random phases. Not included either way: 1,000 watch
 * streams (SSE keep-alives every 5 s). This machine has 2 cores, and this process (TLS client side of 1,000
 * heartbeats/s) uses CPU too: its own figure is printed next to the control plane's.
 * Prints figures; asserts nothing about timings.
 *
 * BENCH_CPU_PROF=<file.cpuprofile> also profiles the control plane's main thread over the
 * measured window only (V8 sampling profiler, 1 ms; it adds a little CPU of its own); read
 * it with `npx tsx bench/discovery/profile-summary.ts <file>` or Chrome DevTools.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ControlClient, MtlsClient, Registration, WorkloadIdentity } from '@flotilla/kit';
import { joinToken } from '@flotilla/testing';
import { pino } from 'pino';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1_000);
const SERVICES = 10;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const MODE = process.env.BENCH_HEARTBEATS === 'request' ? 'request' : 'kit';
const BACKGROUND = process.env.BENCH_BACKGROUND === '1';
const IDLE_SECONDS = 4;
const WARMUP_SECONDS = 4;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./control-child.ts', import.meta.url));
const CLK_TCK = 100; // `getconf CLK_TCK` on Linux
const silent = pino({ level: 'silent' });
// The kit's Registration says every failed registration or heartbeat (stream) at warn: count them.
let warnings = 0;
const warnCounter = pino(
  { level: 'warn' },
  { write: (line: string) => void (warnings += line.split('\n').length - 1) },
);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  t: number; // ms (performance.now)
  cpuMs: number; // control plane: utime + stime
  rssMb: number;
  selfCpuMs: number; // this process: user + system
}

async function sample(pid: number): Promise<Sample> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]);
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const self = process.cpuUsage();
  return {
    t: performance.now(),
    cpuMs: (ticks * 1000) / CLK_TCK,
    rssMb: rssKb / 1024,
    selfCpuMs: (self.user + self.system) / 1000,
  };
}
/** CPU (ms, user and system) of each thread of `pid`, by thread name (`node` is the main one). */
async function threads(pid: number): Promise<Map<string, { userMs: number; sysMs: number }>> {
  const out = new Map<string, { userMs: number; sysMs: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const t = out.get(name) ?? { userMs: 0, sysMs: 0 };
    t.userMs += (Number(fields[11]) * 1000) / CLK_TCK;
    t.sysMs += (Number(fields[12]) * 1000) / CLK_TCK;
    out.set(name, t);
  }
  return out;
}
const pctOfCore = (a: Sample, b: Sample, key: 'cpuMs' | 'selfCpuMs') =>
  ((b[key] - a[key]) / (b.t - a.t)) * 100;

let child: ChildProcess | undefined;
let home: string | undefined;
const timers: NodeJS.Timeout[] = [];
const clients: MtlsClient[] = [];
const registrations: Registration[] = [];
const identities: WorkloadIdentity[] = [];
let stopBackground = false;
const background = { refreshes: 0, policyPolls: 0, failed: 0 };

try {
  // tmpfs when there is one: registering writes an fsync'd audit record and a database row
  // per instance, which on a slow disk would make the setup, not the measurement, long.
  // Heartbeats write nothing, so the measured window does not depend on it.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  home = await mkdtemp(join(base, 'flotilla-bench-registry-'));
  const started = performance.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: REPO,
    env: {
      ...process.env,
      FLOTILLA_HOME: home,
      FLOTILLA_POLICY_DIR: join(REPO, 'policies'),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      PORT: '0',
      REGISTRY_HEALTH_INTERVAL_MS: '600000',
      REGISTRY_TTL_SECONDS: '10',
      REGISTRY_HEARTBEAT_SECONDS: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child = proc;
  let childOutput = '';
  let onProfiled: (() => void) | undefined;
  proc.stderr.on('data', (d: Buffer) => {
    if (childOutput.length < 1_000_000) childOutput += d.toString();
  });
  const control = await new Promise<{ url: string; adminToken: string; roots: string; pid: number }>(
    (resolve, reject) => {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        if (childOutput.length < 1_000_000) childOutput += `${line}\n`; // for a failed start only
        if (line.startsWith('{"control"')) resolve((JSON.parse(line) as { control: never }).control);
        if (line.startsWith('{"profiled"')) onProfiled?.();
      });
      proc.once('exit', (code) => reject(new Error(`control plane exited (${code}):\n${childOutput}`)));
      setTimeout(() => reject(new Error(`control plane did not start:\n${childOutput}`)), 30_000).unref();
    },
  );
  console.log(
    `control plane pid ${control.pid} at ${control.url}, up in ${Math.round(performance.now() - started)} ms; ` +
      `node ${process.version}; LOG_LEVEL ${process.env.BENCH_LOG_LEVEL ?? 'silent'}`,
  );

  // ---- 1. idle baseline ----
  await sleep(1_000);
  const idleA = await sample(control.pid);
  await sleep(IDLE_SECONDS * 1000);
  const idleB = await sample(control.pid);

  // ---- 2. identities and registrations ----
  const admin = { url: control.url, adminToken: control.adminToken, roots: control.roots };
  const setupStart = performance.now();
  for (let s = 0; s < SERVICES; s++) {
    identities.push(
      await WorkloadIdentity.join({
        service: `svc-${s}`,
        trustDomain: 'flotilla.local',
        controlUrl: control.url,
        joinToken: await joinToken(admin, `svc-${s}`),
        initialTrust: control.roots,
        log: silent,
      }),
    );
  }
  const joinSeconds = (performance.now() - setupStart) / 1000;
  const beforeRegister = await sample(control.pid);
  const stats = { sent: 0, ok: 0, failed: 0, latencies: [] as number[], measuring: false };
  // BENCH_HEARTBEATS=request: one PUT per heartbeat, as a kit does when the registry offers no
  // stream (and as every kit did before streams), for a comparison under the same conditions.
  const heartbeat = async (client: MtlsClient, id: string) => {
    const t0 = performance.now();
    stats.sent += 1;
    try {
      const res = await client.request('control', control.url, {
        method: 'PUT',
        path: `/v1/registry/instances/${id}/heartbeat`,
        timeoutMs: 5_000,
      });
      await res.body.dump();
      if (res.statusCode === 204) stats.ok += 1;
      else stats.failed += 1;
    } catch {
      stats.failed += 1;
    }
    if (stats.measuring) stats.latencies.push(performance.now() - t0);
  };
  const registerByRequest = async (i: number, client: MtlsClient) => {
    const res = await client.request('control', control.url, {
      method: 'POST',
      path: '/v1/registry/instances',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: '127.0.0.1', port: 30_000 + i, version: '1.0.0' }),
    });
    const body = (await res.body.json()) as { id?: string; detail?: string };
    if (res.statusCode !== 201 || !body.id) throw new Error(`register: ${res.statusCode} ${body.detail}`);
    const id = body.id;
    // Each instance on its own once-a-second timer, at a random phase: independent processes.
    timers.push(
      setTimeout(() => {
        void heartbeat(client, id);
        timers.push(setInterval(() => void heartbeat(client, id), 1_000));
      }, Math.random() * 1_000),
    );
  };
  // Default: the kit's own Registration, exactly what a service instance runs (register,
  // then heartbeats as the registry offers them), started at a random phase.
  const registerWithKit = async (i: number, client: MtlsClient) => {
    const registration = new Registration(
      client,
      control.url,
      { address: '127.0.0.1', port: 30_000 + i, version: '1.0.0', ready: async () => true },
      warnCounter,
    );
    registrations.push(registration);
    await sleep(Math.random() * 1_000);
    registration.start();
    while (!registration.instanceId) await sleep(20);
  };
  // BENCH_BACKGROUND=1: what else each instance's kit asks the control plane.
  // Two pools per instance, as in a service: the identity's own and the service's client.
  const runBackground = (identity: WorkloadIdentity, serviceClient: MtlsClient) => {
    const identityPool = new MtlsClient(identity);
    clients.push(identityPool);
    const refresh = new ControlClient(control.url, identity.trustDomain, () =>
      identityPool.agentFor('control'),
    );
    const policy = new ControlClient(control.url, identity.trustDomain, () =>
      serviceClient.agentFor('control'),
    );
    const refreshLoop = async () => {
      await sleep(Math.random() * 15_000);
      while (!stopBackground) {
        try {
          await refresh.bundle(identity.current());
          await refresh.crls(identity.current());
          background.refreshes += 1;
        } catch {
          if (!stopBackground) background.failed += 1;
        }
        await sleep(15_000);
      }
    };
    const policyLoop = async () => {
      await sleep(Math.random() * 1_000);
      let etag: string | undefined;
      while (!stopBackground) {
        const started = performance.now();
        try {
          const answer = await policy.policyBundle(identity.current(), etag, 20);
          if (answer.status === 'ok') etag = answer.etag;
          background.policyPolls += 1;
        } catch {
          if (!stopBackground) background.failed += 1;
        }
        await sleep(Math.max(0, 1_000 - (performance.now() - started)));
      }
    };
    void refreshLoop();
    void policyLoop();
  };
  const register = async (i: number) => {
    const s = Math.floor((i * SERVICES) / INSTANCES);
    const client = new MtlsClient(identities[s]!);
    clients.push(client);
    await (MODE === 'request' ? registerByRequest(i, client) : registerWithKit(i, client));
    if (BACKGROUND) runBackground(identities[s]!, client);
  };
  for (let next = 0; next < INSTANCES;) {
    const batch = [];
    for (let k = 0; k < 50 && next < INSTANCES; k++) batch.push(register(next++));
    await Promise.all(batch);
  }
  const setupSeconds = (performance.now() - setupStart) / 1000;
  const registered = await sample(control.pid);

  // ---- 3./4. heartbeats: warm-up, then the measured window ----
  await sleep(WARMUP_SECONDS * 1000);
  // What the registry itself counted: heartbeats per instance (kit mode: no per-heartbeat answer).
  const listing = async () => {
    const res = await clients[0]!.request('control', control.url, { path: '/v1/registry/instances' });
    const { instances } = (await res.body.json()) as {
      instances: Array<{ heartbeats: number; lastHeartbeatSecondsAgo: number }>;
    };
    return { t: performance.now(), instances };
  };
  const listedBefore = await listing();
  const warningsBefore = warnings;
  stats.measuring = true;
  const okBefore = stats.ok;
  const backgroundBefore = { ...background };
  const failedBefore = stats.failed;
  if (CPU_PROF) proc.stdin.write('cpu-prof start\n');
  const threadsBefore = await threads(control.pid);
  const window: Sample[] = [await sample(control.pid)];
  for (let t = 0; t < SECONDS; t += 5) {
    await sleep(Math.min(5, SECONDS - t) * 1000);
    window.push(await sample(control.pid));
  }
  const threadsAfter = await threads(control.pid);
  stats.measuring = false;
  if (CPU_PROF) {
    const written = new Promise<void>((resolve) => (onProfiled = resolve));
    proc.stdin.write(`cpu-prof stop ${resolvePath(CPU_PROF)}\n`);
    await written;
    console.log(`control plane CPU profile of the window: ${resolvePath(CPU_PROF)}`);
  }
  const okInWindow = stats.ok - okBefore;
  const backgroundInWindow = {
    refreshes: background.refreshes - backgroundBefore.refreshes,
    policyPolls: background.policyPolls - backgroundBefore.policyPolls,
    failed: background.failed - backgroundBefore.failed,
  };
  const failedInWindow = stats.failed - failedBefore;

  // The registry still holds every instance (none expired for want of heartbeats).
  const listedAfter = await listing();
  const { instances } = listedAfter;
  const warningsInWindow = warnings - warningsBefore;
  const sumBeats = (l: typeof listedAfter) => l.instances.reduce((n, i) => n + i.heartbeats, 0);
  const beatsPerSecond =
    (sumBeats(listedAfter) - sumBeats(listedBefore)) / ((listedAfter.t - listedBefore.t) / 1000);
  const stalest = Math.max(...instances.map((i) => i.lastHeartbeatSecondsAgo));

  // ---- report ----
  const a = window[0]!;
  const b = window[window.length - 1]!;
  const seconds = (b.t - a.t) / 1000;
  const lat = [...stats.latencies].sort((x, y) => x - y);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
  const f1 = (x: number) => x.toFixed(1);
  console.log(
    `setup: ${SERVICES} identities, ${INSTANCES} instances registered (one mTLS connection each) in ${f1(setupSeconds)} s ` +
      `(joins ${f1(joinSeconds)} s); FLOTILLA_HOME under ${base}`,
  );
  console.log(
    `idle control plane (nothing registered, ${IDLE_SECONDS} s):  CPU ${f1(pctOfCore(idleA, idleB, 'cpuMs'))}% of one core, RSS ${f1(idleB.rssMb)} MB`,
  );
  console.log(
    `registering: control plane CPU ${f1(pctOfCore(beforeRegister, registered, 'cpuMs'))}% of one core, ` +
      `this process ${f1(pctOfCore(beforeRegister, registered, 'selfCpuMs'))}%`,
  );
  console.log(`after registering ${INSTANCES}:                         RSS ${f1(registered.rssMb)} MB`);
  console.log(
    `heartbeats (${MODE === 'kit' ? "the kit's Registration" : 'one PUT per heartbeat'}): the registry counted ` +
      `${f1(beatsPerSecond)}/s between listings ${f1((listedAfter.t - listedBefore.t) / 1000)} s apart; ` +
      `stalest instance at the end ${stalest.toFixed(1)} s since its last heartbeat`,
  );
  if (MODE === 'request')
    console.log(
      `  ${okInWindow} answered 204 in the ${f1(seconds)} s window (${f1(okInWindow / seconds)}/s), ${failedInWindow} failed; ` +
        `latency p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms`,
    );
  else
    console.log(
      `  registration warnings (a failed heartbeat stream or registration) in the window: ${warningsInWindow}`,
    );
  if (BACKGROUND)
    console.log(
      `  background (BENCH_BACKGROUND=1), in the window: ${backgroundInWindow.refreshes} bundle+CRL refreshes, ` +
        `${backgroundInWindow.policyPolls} policy polls answered, ${backgroundInWindow.failed} failed`,
    );
  console.log(
    `control plane under load:  CPU ${f1(pctOfCore(a, b, 'cpuMs'))}% of one core ` +
      `(${f1(b.cpuMs - a.cpuMs)} ms CPU in ${f1(seconds)} s; per 5 s: ${window
        .slice(1)
        .map((s, i) => `${f1(pctOfCore(window[i]!, s, 'cpuMs'))}%`)
        .join(', ')}); ` +
      `RSS ${f1(a.rssMb)} → ${f1(b.rssMb)} MB`,
  );
  console.log(
    `  per heartbeat: ${(((b.cpuMs - a.cpuMs) * 1000) / Math.max(1, beatsPerSecond * seconds)).toFixed(0)} µs of control-plane CPU; ` +
      `ratio to idle: ${f1(pctOfCore(a, b, 'cpuMs') / Math.max(0.01, pctOfCore(idleA, idleB, 'cpuMs')))}×`,
  );
  const windowMs = b.t - a.t;
  const pctOf = (ms: number) => `${f1((ms / windowMs) * 100)}%`;
  console.log(
    `  by thread (user + system): ${[...threadsAfter]
      .map(([name, t]) => {
        const before = threadsBefore.get(name) ?? { userMs: 0, sysMs: 0 };
        return { name, user: t.userMs - before.userMs, sys: t.sysMs - before.sysMs };
      })
      .filter((t) => t.user + t.sys > 0)
      .sort((x, y) => y.user + y.sys - (x.user + x.sys))
      .map((t) => `${t.name} ${pctOf(t.user)} + ${pctOf(t.sys)}`)
      .join(', ')}`,
  );
  console.log(
    `this process (1,000 mTLS clients) over the same window: CPU ${f1(pctOfCore(a, b, 'selfCpuMs'))}% of one core ` +
      `(2 cores shared with the control plane)`,
  );
  console.log(`registry lists ${instances.length} instances at the end`);
  console.log(`target (issue 4): < 10% of one core for 1,000 instances`);
} finally {
  for (const t of timers) clearTimeout(t); // also clears intervals
  stopBackground = true;
  await Promise.all(registrations.map((r) => r.deregister()));
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await Promise.all(identities.map((i) => i.stop().catch(() => undefined)));
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const killer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  if (home) await rm(home, { recursive: true, force: true });
}
