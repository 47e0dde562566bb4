import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFleet } from '../src/up/fleet-runner.js';

const fleetYaml = (opts: { entry: string; controlPort?: number }) => `version: 1
name: test
control: { port: ${opts.controlPort ?? 0} }
auth: { port: 0, audience: https://localhost/api, clients: [] }
roles: [viewer]
gateway: { port: 0, httpPort: 0, routes: [] }
services:
  - name: crashy
    entry: ${opts.entry}
`;

/** Is a port free again (nothing left listening after a failed start)? */
const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

describe('flotilla up refuses bad starts, names the cause, and leaves nothing running', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-up-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const run = async (yaml: string) => {
    const file = join(dir, 'flotilla.yaml');
    await writeFile(file, yaml);
    // Embedded defaults: a shared DATABASE_URL would hold another test's control plane.
    const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL };
    delete process.env.DATABASE_URL;
    delete process.env.REDIS_URL;
    try {
      return await runFleet({ file, home: join(dir, 'home'), onEvent: () => undefined });
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    }
  };

  it('a missing entry point', async () => {
    await expect(run(fleetYaml({ entry: 'services/nope/main.ts' }))).rejects.toThrow(
      'crashy: entry point services/nope/main.ts does not exist',
    );
  });

  it('a port already in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    await writeFile(join(dir, 'crash.ts'), '');
    try {
      await expect(run(fleetYaml({ entry: 'crash.ts', controlPort: port }))).rejects.toThrow(
        `control: port ${port} is already in use`,
      );
    } finally {
      blocker.close();
    }
  });

  it('an unknown key in the fleet file', async () => {
    await expect(
      run(fleetYaml({ entry: 'x.ts' }).replace('name: test', 'name: test\nreplicas: 2')),
    ).rejects.toThrow(/flotilla\.yaml:3: replicas: unknown key$/);
  });

  it('a service that crashes at start: named with its cause, and the control plane and auth stopped again', async () => {
    const entry = join(import.meta.dirname, 'fixtures', 'crash-at-start.ts');
    await cp(join(import.meta.dirname, '..', '..', '..', 'policies'), join(dir, 'policies'), {
      recursive: true,
    });
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const controlPort = (blocker.address() as { port: number }).port;
    blocker.close();
    await expect(run(fleetYaml({ entry, controlPort }))).rejects.toThrow(
      'crashy exited (code 78) before it was ready: crashy: invalid configuration: CRASHY_SETTING is required',
    );
    expect(await isFree(controlPort)).toBe(true);
  }, 120_000);
});
