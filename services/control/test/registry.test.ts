import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, WorkloadIdentity, MtlsClient } from '@flotilla/kit';
import { echoMain, joinToken, type ServiceProcess, spawnService } from '@flotilla/testing';
import { pino } from 'pino';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { defineService } from '@flotilla/kit';
import { type RunningControl, startControl } from '../src/index.js';

const silent = pino({ level: 'silent' });
const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', 'policies');

const registryEnv = {
  REGISTRY_HEARTBEAT_SECONDS: '1',
  REGISTRY_TTL_SECONDS: '3',
  REGISTRY_HEALTH_INTERVAL_MS: '1000',
  REGISTRY_HEALTH_MAX_FAILURES: '2',
};

/** A caller service, in this process, that discovers `echo` through the registry. */
const caller = defineService({ name: 'frontend', routes() {} });

describe('discovery that cannot be poisoned, and client-side load balancing', () => {
  let home: string;
  let control: RunningControl;
  let controlPort: number;
  let front: RunningService;
  const echoes: ServiceProcess[] = [];

  const controlEnv = () => ({
    FLOTILLA_HOME: home,
    LOG_LEVEL: 'silent',
    PORT: String(controlPort),
    ...registryEnv,
  });
  const admin = () => ({
    url: control.url,
    adminToken: control.adminToken,
    roots: control.bundle().roots.join('\n'),
  });
  const serviceEnv = async (name: string) => ({
    FLOTILLA_HOME: home,
    FLOTILLA_CONTROL_URL: control.url,
    FLOTILLA_JOIN_TOKEN: await joinToken(admin(), name),
    FLOTILLA_REFRESH_MS: '1000',
    FLOTILLA_DEREGISTER_DELAY_MS: '300',
    PORT: '0',
    LOG_LEVEL: 'silent',
    FLOTILLA_POLICY_DIR: POLICY_DIR,
    FLOTILLA_ALLOWED_CALLS: JSON.stringify({
      frontend: { calls: [{ service: 'echo', method: 'GET', path: '/whoami' }] },
    }),
  });
  const spawnEcho = async () => {
    const p = await spawnService(echoMain, { ...(await serviceEnv('echo')), ECHO_NAME: 'echo' });
    echoes.push(p);
    return p;
  };
  const whoami = async () => {
    const res = await front.ctx.call('echo', { path: '/whoami', timeoutMs: 2_000 });
    const body = (await res.body.json()) as { service: string; pid: number };
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    return body;
  };
  /** The same call through `ctx.dispatch` (the gateway's path): the answer, or its error. */
  const dispatched = (service: string, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      let status = 0;
      const chunks: Buffer[] = [];
      front.ctx.dispatch(
        service,
        { method: 'GET', path, headers: {}, timeoutMs: 2_000 },
        {
          onResponseStart: (_c, s) => void (status = s),
          onResponseData: (_c, chunk) => void chunks.push(chunk),
          onResponseEnd: () => resolve({ status, body: Buffer.concat(chunks).toString() }),
          onResponseError: (_c, err) => reject(err),
        },
      );
    });
  const whoamiDispatched = async () => {
    const res = await dispatched('echo', '/whoami');
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    return JSON.parse(res.body) as { service: string; pid: number };
  };
  /** Calls in a loop (4 at a time: two by `call`, two by `dispatch`) until `stop` is called; counts outcomes. */
  const requestLoop = () => {
    let running = true;
    const stats = {
      ok: 0,
      failed: [] as string[],
      pids: new Map<number, number>(),
      at: [] as Array<{ t: number; ok: boolean }>,
    };
    const worker = async (call: typeof whoami) => {
      while (running) {
        try {
          const body = await call();
          stats.ok += 1;
          stats.pids.set(body.pid, (stats.pids.get(body.pid) ?? 0) + 1);
          stats.at.push({ t: Date.now(), ok: true });
        } catch (err) {
          stats.failed.push((err as Error).message);
          stats.at.push({ t: Date.now(), ok: false });
        }
      }
    };
    const workers = [worker(whoami), worker(whoami), worker(whoamiDispatched), worker(whoamiDispatched)];
    return {
      stats,
      stop: async () => {
        running = false;
        await Promise.all(workers);
        return stats;
      },
    };
  };
  const waitFor = async (cond: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-registry-'));
    controlPort = 0;
    control = await startControl({ env: controlEnv() });
    controlPort = new URL(control.url).port ? Number(new URL(control.url).port) : 0;
    for (let i = 0; i < 3; i++) await spawnEcho();
    front = await caller.start({ env: await serviceEnv('frontend') });
    // All three are in the caller's view.
    const seen = new Set<number>();
    await waitFor(() => false, 0);
    for (let i = 0; i < 60 && seen.size < 3; i++) seen.add((await whoami()).pid);
    expect(seen.size).toBe(3);
  }, 120_000);

  afterAll(async () => {
    await front?.stop();
    await Promise.all(echoes.map((e) => e.kill('SIGKILL')));
    await control?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('dispatches as it calls: balanced over the instances, the callee sees the caller, no instance is a 503', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const body = await whoamiDispatched();
      expect(body.service).toBe('echo');
      pids.add(body.pid);
    }
    expect(pids.size).toBe(echoes.length);
    const unknown = await dispatched('nobody', '/whoami').catch((err: unknown) => err);
    expect(unknown).toMatchObject({
      code: 'FLT_NO_INSTANCE',
      message: 'no instance of nobody is available',
    });
  });

  it('refuses a registration as another service, and the impostor never receives traffic', async () => {
    const identity = await WorkloadIdentity.join({
      service: 'impostor',
      trustDomain: 'flotilla.local',
      controlUrl: control.url,
      joinToken: await joinToken(admin(), 'impostor'),
      initialTrust: control.bundle().roots.join('\n'),
      log: silent,
    });
    const client = new MtlsClient(identity);
    const before = await client.request('control', control.url, { path: '/v1/registry/instances' });
    const count = ((await before.body.json()) as { instances: unknown[] }).instances.length;
    const res = await client.request('control', control.url, {
      method: 'POST',
      path: '/v1/registry/instances',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'echo', address: '127.0.0.1', port: 9 }),
    });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { detail: string }).detail).toBe(
      'your certificate is for impostor, not echo',
    );
    const outside = await client.request('control', control.url, {
      method: 'POST',
      path: '/v1/registry/instances',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: '10.1.2.3', port: 9 }),
    });
    expect(outside.statusCode).toBe(400);
    await outside.body.dump();
    const after = await client.request('control', control.url, { path: '/v1/registry/instances' });
    expect(((await after.body.json()) as { instances: unknown[] }).instances.length).toBe(count);
    const pids = new Set<number>();
    for (let i = 0; i < 30; i++) pids.add((await whoami()).pid);
    expect([...pids].every((pid) => echoes.some((e) => e.pid === pid))).toBe(true);
    await client.close();
    await identity.stop();
  });

  it('sends traffic to a new instance once it is ready, failing no request', async () => {
    const loop = requestLoop();
    const fresh = await spawnEcho();
    // How soon is a speed figure (bench/discovery); the deadline only bounds a failing run.
    const reached = await waitFor(() => loop.stats.pids.has(fresh.pid), 15_000);
    const stats = await loop.stop();
    expect(reached).toBe(true);
    expect(stats.failed).toEqual([]);
    await fresh.kill('SIGTERM');
    echoes.splice(echoes.indexOf(fresh), 1);
  });

  it('loses no idempotent request when an instance is killed with SIGKILL', async () => {
    const loop = requestLoop();
    await waitFor(() => loop.stats.ok > 50, 5_000);
    const victim = echoes.shift()!;
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => Date.now() - killedAt > 4_000, 5_000); // past TTL: the registry has removed it
    const stats = await loop.stop();
    expect(stats.failed).toEqual([]);
    expect(stats.at.filter((a) => a.t > killedAt).length).toBeGreaterThan(50);
    await spawnEcho();
  });

  it('rolls all instances one by one with zero failed requests', async () => {
    const loop = requestLoop();
    const old = echoes.splice(0, echoes.length);
    for (const instance of old) {
      await spawnEcho();
      await new Promise((r) => setTimeout(r, 300));
      await instance.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 500));
    const stats = await loop.stop();
    expect(stats.failed).toEqual([]);
    expect(old.every((o) => o.child.exitCode === 0)).toBe(true);
    const recent = stats.at.length;
    expect(recent).toBeGreaterThan(100);
    // Three processes started one after another: ~19 s on a quiet 2-core host, more on a busy one.
  }, 90_000);

  it('keeps serving through a registry restart, and the registry comes back with the fleet', async () => {
    const loop = requestLoop();
    await waitFor(() => loop.stats.ok > 30, 5_000);
    await control.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    const okDuringOutage = loop.stats.ok;
    control = await startControl({ env: controlEnv() });
    await new Promise((r) => setTimeout(r, 2_000));
    const stats = await loop.stop();
    expect(stats.failed).toEqual([]);
    expect(stats.ok).toBeGreaterThan(okDuringOutage);
    const listed = await front.ctx.client.request('control', control.url, { path: '/v1/registry/instances' });
    const { instances } = (await listed.body.json()) as { instances: Array<{ service: string }> };
    expect(instances.filter((i) => i.service === 'echo').length).toBe(3);
  });
});
