import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempHome } from './helpers.js';

interface Started {
  child: ChildProcess;
  url: string;
  /** Resolves once the process has printed a log line with this message (and, if given, this URL). */
  logged(msg: string, url?: string): Promise<void>;
}

/** Starts the sample service as a real process, logging at info, and resolves with its URL. */
async function startProcess(home: string): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'sample-main.ts')],
    {
      env: {
        ...process.env,
        PORT: '0',
        FLOTILLA_HOME: home,
        LOG_LEVEL: 'info',
        DATABASE_URL: '',
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: Array<Record<string, unknown>> = [];
  const waiting = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const check of waiting) check();
  });
  const until = (found: () => unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const check = () => {
        const hit = found();
        if (hit) {
          waiting.delete(check);
          resolve(hit);
        }
      };
      child.once('exit', () => reject(new Error('the service exited')));
      waiting.add(check);
      check();
    });
  const listening = (await until(() => lines.find((l) => typeof l.listening === 'string'))) as {
    listening: string;
  };
  return {
    child,
    url: listening.listening,
    logged: async (msg, url) => {
      await until(() =>
        lines.find((l) => l.msg === msg && (url === undefined || (l.req as { url?: string })?.url === url)),
      );
    },
  };
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
    await started.logged('incoming request', '/slow?ms=1500');
    child.kill('SIGTERM');
    await started.logged('shutting down: draining in-flight requests');

    // The listener closes: a new connection is refused while the slow request is still running.
    // (In the moment between the log line and the listener's close, Fastify answers 503.)
    const attempt = () =>
      fetch(`${started.url}/hello`).then(
        (res) => `answered ${res.status}`,
        (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
      );
    let refused = await attempt();
    while (refused === 'answered 503') refused = await attempt();
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
