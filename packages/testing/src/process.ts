import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  pid: number;
  /** Output seen so far (stdout and stderr), for failure messages. */
  output: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs a TypeScript service entry as its own OS process (through tsx) and resolves
 * once it prints `{"listening": URL}`; rejects with its output if it exits first.
 *
 * @example
 * const echo = await spawnService(echoMain, { ECHO_NAME: 'echo', FLOTILLA_HOME: home });
 * await fetch(`${echo.url}/whoami`);
 * await echo.kill();
 */
export async function spawnService(
  entry: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const listening = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      output += `${line}\n`;
      const m = /^\{"listening":"([^"]+)","pid":(\d+)\}$/.exec(line);
      if (m?.[1]) resolve({ url: m[1], pid: Number(m[2]) });
    });
    void exited.then((code) =>
      reject(new Error(`${entry} exited with ${code} before listening:\n${output}`)),
    );
    setTimeout(
      () => reject(new Error(`${entry} did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    ).unref();
  });
  const { url, pid } = await listening;
  return {
    child,
    url,
    pid,
    output: () => output,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
