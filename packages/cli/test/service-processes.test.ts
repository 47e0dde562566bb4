import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceProcesses } from '../src/up/fleet-processes.js';

describe("flotilla up: a service's processes", () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-procs-'));
    await mkdir(join(home, 'secrets', 'bus'), { recursive: true });
    await writeFile(join(home, 'secrets', 'bus', 'history'), 'pw\n', { mode: 0o600 });
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('hands a provisioned bus user its password file, and no other service one', () => {
    const [history] = serviceProcesses(
      { name: 'history', entry: 'h.ts', bus: { consume: ['viewed'] } },
      home,
    );
    expect(history!.env.FLOTILLA_BUS_PASSWORD_FILE).toBe(join(home, 'secrets', 'bus', 'history'));
    const [web] = serviceProcesses({ name: 'web', entry: 'w.ts' }, home);
    expect(web!.env).not.toHaveProperty('FLOTILLA_BUS_PASSWORD_FILE');
    const [streaming] = serviceProcesses(
      { name: 'streaming', entry: 's.ts', bus: { send: ['viewed'] } },
      home,
    );
    expect(streaming!.env).not.toHaveProperty('FLOTILLA_BUS_PASSWORD_FILE'); // not provisioned
  });
});
