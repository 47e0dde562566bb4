import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor, type SupervisorEvent } from '../src/up/supervisor.js';

describe('the supervisor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-supervisor-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('restarts a crashed service with back-off, reports it, and the others keep running', async () => {
    const events: SupervisorEvent[] = [];
    const supervisor = new Supervisor(join(dir, 'logs'), (e) => events.push(e));
    const entry = join(import.meta.dirname, 'fixtures', 'crash-once.ts');
    await writeFile(join(dir, 'steady'), 'already crashed once'); // so "steady" never crashes
    await supervisor.start({
      name: 'steady',
      service: 'steady',
      entry,
      env: async () => ({ CRASH_MARKER: join(dir, 'steady') }),
    });
    const flaky = await supervisor.start({
      name: 'flaky',
      service: 'flaky',
      entry,
      env: async () => ({ CRASH_MARKER: join(dir, 'flaky') }),
    });
    const until = Date.now() + 10_000;
    while (!events.some((e) => e.type === 'restarted' && e.name === 'flaky') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const crashed = events.find((e) => e.type === 'crashed' && e.name === 'flaky');
    expect(crashed).toMatchObject({ code: 1, restartInMs: 1000 });
    expect(crashed?.type === 'crashed' && crashed.lastLines).toContain('crash-once: something went wrong');
    expect(events.some((e) => e.type === 'crashed' && e.name === 'steady')).toBe(false);
    const restarted = events.find((e) => e.type === 'restarted' && e.name === 'flaky');
    expect(restarted).toBeDefined();
    if (restarted?.type === 'restarted') expect(restarted.pid).not.toBe(flaky.pid);
    const current = supervisor.processes().find((p) => p.spec.name === 'steady');
    expect((await fetch(current!.url)).status).toBe(200);
    await supervisor.stopAll();
    expect(supervisor.processes()).toEqual([]);
  }, 30_000);

  it('keeps restarting a crashed service whose restart fails, with growing back-off', async () => {
    const events: SupervisorEvent[] = [];
    const supervisor = new Supervisor(join(dir, 'logs'), (e) => events.push(e));
    try {
      await supervisor.start({
        name: 'flaky',
        service: 'flaky',
        entry: join(import.meta.dirname, 'fixtures', 'flaky-start.ts'),
        env: async () => ({ CRASH_MARKER: join(dir, 'flaky') }),
      });
      const until = Date.now() + 15_000;
      while (!events.some((e) => e.type === 'restarted') && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      const crashes = events.filter((e) => e.type === 'crashed');
      expect(crashes.map((e) => e.type === 'crashed' && e.restartInMs)).toEqual([1000, 2000]);
      expect(crashes[1]?.type === 'crashed' && crashes[1].lastLines.join('\n')).toMatch(
        /flaky exited \(code 1\) before it was ready: flaky-start: cannot start yet/,
      );
      const [current] = supervisor.processes();
      expect(await (await fetch(current!.url)).text()).toBe('life 3');
    } finally {
      await supervisor.stopAll();
    }
  }, 30_000);

  it('restarts a fixed-port service (live reload) by stopping the old process first, so the port is free', async () => {
    const port = await freePort();
    const events: SupervisorEvent[] = [];
    const supervisor = new Supervisor(join(dir, 'logs'), (e) => events.push(e));
    const entry = join(import.meta.dirname, 'fixtures', 'flaky-start.ts');
    try {
      await writeFile(join(dir, 'fixed'), '2'); // past its flaky lives
      const old = await supervisor.start({
        name: 'fixed',
        service: 'fixed',
        entry,
        env: async () => ({ CRASH_MARKER: join(dir, 'fixed'), PORT: String(port) }),
        fixedPort: true,
      });
      const fresh = await supervisor.restart('fixed');
      expect(fresh?.url).toBe(`http://127.0.0.1:${port}`);
      expect(fresh?.pid).not.toBe(old.pid);
      expect(await (await fetch(fresh!.url)).text()).toBe('life 4');
      expect(alive(old.pid)).toBe(false);
      expect(events.filter((e) => e.type === 'crashed')).toEqual([]);
    } finally {
      await supervisor.stopAll();
    }
  }, 30_000);

  it('a start still compiling when the fleet stops never spawns its process, and stopAll waits for it', async () => {
    let finishCompile!: () => void;
    const compiling = new Promise<void>((r) => (finishCompile = r));
    let compiled = false;
    const supervisor = new Supervisor(join(dir, 'logs'), () => undefined, {
      compile: async () => {
        await compiling;
        compiled = true;
        return join(import.meta.dirname, 'fixtures', 'crash-once.ts');
      },
    });
    const starting = supervisor.start({
      name: 'late',
      service: 'late',
      entry: 'late.ts',
      nodeArgs: ['--import', 'tsx'], // the "compiled" script is TypeScript here
      env: async () => ({ CRASH_MARKER: join(dir, 'late') }),
    });
    const rejected = expect(starting).rejects.toThrow('late: not started, the fleet is stopping');
    await new Promise((r) => setTimeout(r, 50)); // the start is inside its compile now
    const stopped = supervisor.stopAll().then(() => compiled);
    setTimeout(finishCompile, 200);
    expect(await stopped).toBe(true); // stopAll resolved only after the compile settled
    await rejected;
    // No process ran: it would have written its log and its crash marker.
    await expect(stat(join(dir, 'logs', 'late.log'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dir, 'late'))).rejects.toThrow(/ENOENT/);
    expect(supervisor.processes()).toEqual([]);
  });

  it('a service stops by itself when its supervisor is killed (no process left on the ports)', async () => {
    const script = join(import.meta.dirname, 'fixtures', 'supervise-one.ts');
    const parent = spawn(process.execPath, ['--import', 'tsx', script, join(dir, 'logs'), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: parent.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const { servicePid } = JSON.parse(line) as { servicePid: number };
      expect(alive(servicePid)).toBe(true);
      parent.kill('SIGKILL');
      const until = Date.now() + 15_000;
      while (alive(servicePid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(alive(servicePid)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  }, 60_000);
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
