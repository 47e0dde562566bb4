import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempHome } from './helpers.js';

/** Starts the sample service as a real process and resolves with its URL. */
async function startProcess(home: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'sample-main.ts')],
    {
      env: {
        ...process.env,
        PORT: '0',
        FLOTILLA_HOME: home,
        LOG_LEVEL: 'warn',
        DATABASE_URL: '',
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /^\{"listening":"([^"]+)"\}$/.exec(line);
    if (m?.[1]) return { child, url: m[1] };
  }
  throw new Error('service exited before listening');
}

describe('graceful shutdown', () => {
  let home: Awaited<ReturnType<typeof tempHome>>;
  let child: ChildProcess | undefined;
  beforeEach(async () => {
    home = await tempHome();
  });
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await home.remove();
  });

  it('on SIGTERM finishes the in-flight request, refuses new ones and exits 0', async () => {
    const started = await startProcess(home.dir);
    child = started.child;
    const exited = once(child, 'exit');
    const slow = fetch(`${started.url}/slow?ms=1500`);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));

    // The listener is closed: a new connection is refused while the slow request is still running.
    const refused = await fetch(`${started.url}/hello`).then(
      (res) => `answered ${res.status}`,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(refused).toBe('ECONNREFUSED');
    expect(child.exitCode).toBeNull();

    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slept: 1500 });
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });

  it('exits 0 on SIGINT when idle', async () => {
    const started = await startProcess(home.dir);
    child = started.child;
    const exited = once(child, 'exit');
    expect((await fetch(`${started.url}/livez`)).status).toBe(200);
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
  });
});
