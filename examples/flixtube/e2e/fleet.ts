import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface E2eFleet {
  url: string;
  home: string;
  usersFile: string;
  stop(): Promise<void>;
}

/**
 * Runs `flotilla up` as a user would, in a fresh home folder, and resolves once it
 * prints the URL to open. Stopping sends SIGTERM, as Ctrl-C would.
 */
export async function startFleet(repo: string, timeoutMs = 150_000): Promise<E2eFleet> {
  const home = await mkdtemp(join(tmpdir(), 'flixtube-e2e-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(repo, 'packages/cli/bin/flotilla.js'), 'up', '--home', home],
    {
      cwd: repo,
      // The quick start's embedded defaults, as a new user gets them: no shared database or Redis.
      env: { ...withoutBackends(process.env), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the fleet did not come up in ${timeoutMs / 1000} s:\n${output}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      const m = /is up in [\d.]+ s — open (https:\/\/\S+?)\/?$/.exec(line);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`flotilla up exited before the fleet was up:\n${output}`));
    });
  });
  return {
    url,
    home,
    usersFile: join(home, 'secrets', 'users.json'),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}

function withoutBackends(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, REDIS_URL: _redis, BUS_URL: _bus, ...rest } = env;
  return rest;
}
