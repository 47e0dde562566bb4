/**
 * Registry load (issue 4): CPU and memory of a real control plane while 1,000 instances
 * heartbeat once a second. Run: npx tsx bench/discovery/registry-load.ts
 * (BENCH_INSTANCES, BENCH_SECONDS to tune; about 45 s with the defaults).
 *
 * The control plane runs in its own process (bench/discovery/control-child.ts, started with
 * `node --import tsx`, temp FLOTILLA_HOME, on-disk PGlite, LOG_LEVEL=silent,
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
 *      all, as 1,000 processes would) and PUTs /v1/registry/instances/:id/heartbeat once a
 *      second on its own timer (at a random phase) — the kit's Registration;
 *   4. after a 4 s warm-up, the control plane's CPU and RSS over BENCH_SECONDS (20 s).
 *
 * Not included, though a real fleet of 1,000 instances would add them: 1,000 watch streams
 * (SSE keep-alives every 5 s), and bundle/CRL refreshes every 15 s per instance (here per
 * identity: 10). This machine has 2 cores, and this process (TLS client side of 1,000
 * heartbeats/s) uses CPU too: its own figure is printed next to the control plane's.
 * Prints figures; asserts nothing about timings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MtlsClient, WorkloadIdentity } from '@flotilla/kit';
import { joinToken } from '@flotilla/testing';
import { pino } from 'pino';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1_000);
const SERVICES = 10;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const IDLE_SECONDS = 4;
const WARMUP_SECONDS = 4;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./control-child.ts', import.meta.url));
const CLK_TCK = 100; // `getconf CLK_TCK` on Linux
const silent = pino({ level: 'silent' });
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
const pctOfCore = (a: Sample, b: Sample, key: 'cpuMs' | 'selfCpuMs') =>
  ((b[key] - a[key]) / (b.t - a.t)) * 100;

let child: ChildProcess | undefined;
let home: string | undefined;
const timers: NodeJS.Timeout[] = [];
const clients: MtlsClient[] = [];
const identities: WorkloadIdentity[] = [];

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
      LOG_LEVEL: 'silent',
      PORT: '0',
      REGISTRY_HEALTH_INTERVAL_MS: '600000',
      REGISTRY_TTL_SECONDS: '10',
      REGISTRY_HEARTBEAT_SECONDS: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child = proc;
  let childOutput = '';
  proc.stderr.on('data', (d: Buffer) => (childOutput += d.toString()));
  const control = await new Promise<{ url: string; adminToken: string; roots: string; pid: number }>(
    (resolve, reject) => {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        childOutput += `${line}\n`;
        if (line.startsWith('{"control"')) resolve((JSON.parse(line) as { control: never }).control);
      });
      proc.once('exit', (code) => reject(new Error(`control plane exited (${code}):\n${childOutput}`)));
      setTimeout(() => reject(new Error(`control plane did not start:\n${childOutput}`)), 30_000).unref();
    },
  );
  console.log(
    `control plane pid ${control.pid} at ${control.url}, up in ${Math.round(performance.now() - started)} ms; ` +
      `node ${process.version}`,
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
  const register = async (i: number) => {
    const s = Math.floor((i * SERVICES) / INSTANCES);
    const client = new MtlsClient(identities[s]!);
    clients.push(client);
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
  for (let next = 0; next < INSTANCES;) {
    const batch = [];
    for (let k = 0; k < 50 && next < INSTANCES; k++) batch.push(register(next++));
    await Promise.all(batch);
  }
  const setupSeconds = (performance.now() - setupStart) / 1000;
  const registered = await sample(control.pid);

  // ---- 3./4. heartbeats: warm-up, then the measured window ----
  await sleep(WARMUP_SECONDS * 1000);
  stats.measuring = true;
  const okBefore = stats.ok;
  const failedBefore = stats.failed;
  const window: Sample[] = [await sample(control.pid)];
  for (let t = 0; t < SECONDS; t += 5) {
    await sleep(Math.min(5, SECONDS - t) * 1000);
    window.push(await sample(control.pid));
  }
  stats.measuring = false;
  const okInWindow = stats.ok - okBefore;
  const failedInWindow = stats.failed - failedBefore;

  // The registry still holds every instance (none expired for want of heartbeats).
  const listed = await clients[0]!.request('control', control.url, { path: '/v1/registry/instances' });
  const { instances } = (await listed.body.json()) as { instances: unknown[] };

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
    `heartbeats, ${f1(seconds)} s window: ${okInWindow} ok (${f1(okInWindow / seconds)}/s), ${failedInWindow} failed; ` +
      `latency p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms`,
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
    `  per heartbeat: ${(((b.cpuMs - a.cpuMs) * 1000) / Math.max(1, okInWindow)).toFixed(0)} µs of control-plane CPU; ` +
      `ratio to idle: ${f1(pctOfCore(a, b, 'cpuMs') / Math.max(0.01, pctOfCore(idleA, idleB, 'cpuMs')))}×`,
  );
  console.log(
    `this process (1,000 mTLS clients) over the same window: CPU ${f1(pctOfCore(a, b, 'selfCpuMs'))}% of one core ` +
      `(2 cores shared with the control plane)`,
  );
  console.log(`registry lists ${instances.length} instances at the end`);
  console.log(`target (issue 4): < 10% of one core for 1,000 instances`);
} finally {
  for (const t of timers) clearTimeout(t); // also clears intervals
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
