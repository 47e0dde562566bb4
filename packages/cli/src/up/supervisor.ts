import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FlotillaError } from '@flotilla/errors';

export interface ProcessSpec {
  /** Name shown in progress lines and log prefixes, e.g. `metadata` or `metadata#2`. */
  name: string;
  service: string;
  entry: string;
  /** Fresh settings for every (re)start: a new join token each time. */
  env: () => Promise<Record<string, string>>;
  /** Options for `node` itself (V8 flags), before the script. */
  nodeArgs?: readonly string[];
  /**
   * The process listens on a port fixed by configuration (auth, the gateway): a restart
   * must free it first, so the old process stops before the new one starts.
   */
  fixedPort?: boolean;
  /** Called with each new process of this spec, before it is ready (e.g. to serve it its database). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface SupervisorOptions {
  /**
   * Turns an entry point into the script `node` runs (see compile.ts); called at every
   * (re)start, so a changed source is compiled again. Without it the TypeScript runs
   * through tsx.
   */
  compile?: (entry: string) => Promise<string>;
}

export interface RunningProcess {
  spec: ProcessSpec;
  child: ChildProcess;
  url: string;
  pid: number;
  startedAt: number;
}

export type SupervisorEvent =
  | { type: 'started'; name: string; url: string; pid: number; ms: number }
  | {
      type: 'crashed';
      name: string;
      code: number | null;
      signal: string | null;
      restartInMs: number;
      lastLines: string[];
    }
  | { type: 'restarted'; name: string; url: string; pid: number };

// A start on a loaded 2-core host (tsx-compiled services, PGlite opening) was seen past 30 s.
const START_TIMEOUT_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Runs each service as its own OS process, waits for it to say where it listens,
 * restarts a crashed one with growing back-off (without taking the others down),
 * and stops them all in reverse order.
 */
export class Supervisor {
  private readonly running = new Map<string, RunningProcess>();
  private readonly order: string[] = [];
  private readonly crashes = new Map<string, number>();
  /** Every child alive, including those still starting (a failed start stops them too). */
  private readonly children = new Set<ChildProcess>();
  /** Starts under way (compiling, or waiting for the line): stopAll waits for each to settle. */
  private readonly starting = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly onEvent: (e: SupervisorEvent) => void,
    private readonly options: SupervisorOptions = {},
  ) {}

  processes(): RunningProcess[] {
    return this.order.map((n) => this.running.get(n)).filter((p): p is RunningProcess => p !== undefined);
  }

  /** Starts a process and resolves once it listens; rejects with the cause and its last output if it does not. */
  async start(spec: ProcessSpec): Promise<RunningProcess> {
    const began = Date.now();
    const proc = await this.spawn(spec);
    if (!this.order.includes(spec.name)) this.order.push(spec.name);
    this.onEvent({ type: 'started', name: spec.name, url: proc.url, pid: proc.pid, ms: Date.now() - began });
    return proc;
  }

  /**
   * Restarts one process (live reload): the new one is up before the old one stops, so
   * callers see no gap — unless its port is fixed, where the old one must go first. A
   * new process that fails to start is restarted with back-off, as after a crash.
   */
  async restart(name: string): Promise<RunningProcess | undefined> {
    const old = this.running.get(name);
    if (!old) return undefined;
    this.running.delete(name); // the old process's exit is not a crash
    if (old.spec.fixedPort) await stopChild(old.child);
    let fresh: RunningProcess;
    try {
      fresh = await this.spawn(old.spec);
    } catch (err) {
      await stopChild(old.child);
      this.retry(old.spec, null, null, [(err as Error).message]);
      throw err;
    }
    await stopChild(old.child);
    this.onEvent({ type: 'restarted', name, url: fresh.url, pid: fresh.pid });
    return fresh;
  }

  /**
   * Stops every process, the gateway first, and waits for starts still under way: one that
   * is compiling when the fleet stops (a failed start stops the fleet while others are
   * still on their way up) never spawns its process, so nothing is left running or
   * writing into the fleet's home once this resolves.
   */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const name of [...this.order].reverse()) {
      const proc = this.running.get(name);
      this.running.delete(name);
      if (proc) await stopChild(proc.child);
    }
    await Promise.all([...this.children].map((child) => stopChild(child)));
    await Promise.allSettled([...this.starting]);
  }

  private spawn(spec: ProcessSpec): Promise<RunningProcess> {
    const starting = this.spawnOnce(spec);
    this.starting.add(starting);
    const forget = () => this.starting.delete(starting);
    starting.then(forget, forget);
    return starting;
  }

  private async spawnOnce(spec: ProcessSpec): Promise<RunningProcess> {
    await mkdir(this.logDir, { recursive: true });
    const script = this.options.compile
      ? [...(spec.nodeArgs ?? []), await this.options.compile(spec.entry)]
      : ['--import', 'tsx', ...(spec.nodeArgs ?? []), spec.entry];
    const env = { ...inheritedEnv(), ...(await spec.env()) };
    // Checked after the last await: from here to `children.add` nothing yields, so stopAll
    // either sees this child or this start sees it stopping.
    if (this.stopping)
      throw new FlotillaError('FLT_UNAVAILABLE', `${spec.name}: not started, the fleet is stopping`);
    const log = createWriteStream(join(this.logDir, `${spec.name.replace('#', '-')}.log`), {
      flags: 'a',
      mode: 0o600,
    });
    // A log that cannot be written (disk full, home removed) must not take the supervisor down.
    log.on('error', (err) => process.stderr.write(`flotilla: ${spec.name}'s log: ${err.message}\n`));
    const child = spawn(process.execPath, script, {
      env,
      // The IPC channel is a lifeline: a service stops when it closes (the supervisor died).
      // It also carries the service's database calls when `flotilla up` keeps its database,
      // as structured clones (Dates and bytes intact).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    spec.onSpawn?.(child);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    const tail: string[] = [];
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log.write(`${line}\n`);
    };
    createInterface({ input: child.stderr! }).on('line', keep);
    const exit = once(child, 'exit') as Promise<[number | null, string | null]>;
    // Its output read to the end. A plain listener, not events.once: that would reject on a
    // later 'error' event of the child, unhandled once the start has succeeded.
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let listening: { url: string; pid: number };
    try {
      listening = await waitForListening(child, keep, exit, tail, spec);
    } catch (err) {
      await closed;
      await new Promise<void>((done) => log.end(done));
      throw err;
    }
    const { url, pid } = listening;
    const proc: RunningProcess = { spec, child, url, pid, startedAt: Date.now() };
    this.running.set(spec.name, proc);
    void exit.then(([code, signal]) => this.onExit(proc, code, signal, tail, log));
    return proc;
  }

  private onExit(
    proc: RunningProcess,
    code: number | null,
    signal: string | null,
    tail: string[],
    log: WriteStream,
  ): void {
    log.end();
    if (this.stopping || this.running.get(proc.spec.name) !== proc) return;
    this.running.delete(proc.spec.name);
    this.retry(proc.spec, code, signal, tail);
  }

  /** Reports a process gone and starts it again after a back-off that doubles with each failure (to 30 s). */
  private retry(spec: ProcessSpec, code: number | null, signal: string | null, tail: string[]): void {
    if (this.stopping) return;
    const crashes = (this.crashes.get(spec.name) ?? 0) + 1;
    this.crashes.set(spec.name, crashes);
    const restartInMs = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (crashes - 1));
    this.onEvent({ type: 'crashed', name: spec.name, code, signal, restartInMs, lastLines: tail.slice(-5) });
    setTimeout(() => {
      if (this.stopping || this.running.has(spec.name)) return;
      this.spawn(spec).then(
        (fresh) => this.onEvent({ type: 'restarted', name: spec.name, url: fresh.url, pid: fresh.pid }),
        // A start that fails is a failure too: try again, later (it never gives up on its own).
        (err: unknown) => this.retry(spec, null, null, [(err as Error).message]),
      );
    }, restartInMs).unref();
  }
}

async function waitForListening(
  child: ChildProcess,
  keep: (line: string) => void,
  exit: Promise<[number | null, string | null]>,
  tail: string[],
  spec: ProcessSpec,
): Promise<{ url: string; pid: number }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      child.kill('SIGKILL');
      reject(
        new FlotillaError(
          'FLT_UNAVAILABLE',
          `${spec.name} did not start within ${START_TIMEOUT_MS / 1000} s${lastWords(tail)}`,
        ),
      );
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const m = /^\{"listening":"([^"]+)","pid":(\d+)\}$/.exec(line);
      if (m?.[1] && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ url: m[1], pid: Number(m[2]) });
      }
    });
    void exit.then(([code, signal]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(
        new FlotillaError(
          'FLT_UNAVAILABLE',
          `${spec.name} exited (${signal ?? `code ${code}`}) before it was ready${lastWords(tail)}`,
        ),
      );
    });
  });
}

/** The most telling line of a failed start: a service prints one readable line on failure. */
function lastWords(tail: string[]): string {
  const line = [...tail].reverse().find((l) => l.trim() && !l.startsWith('{') && !/warning|--trace/i.test(l));
  return line ? `: ${line.trim()}` : '';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * The operator's environment minus the control plane's own secrets: the CA's key-encryption
 * key and the admin token stay in the `flotilla up` process (which hosts the control plane),
 * and a join token meant for it is no service's.
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  const {
    FLOTILLA_CA_KEK: _kek,
    FLOTILLA_ADMIN_TOKEN: _admin,
    FLOTILLA_JOIN_TOKEN_FILE: _file,
    ...env
  } = process.env;
  return env;
}
