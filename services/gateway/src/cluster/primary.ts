import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { AuditLog, ConfigError, FlotillaError, type ServiceContext } from '@flotilla/kit';
import type { GatewayConfig } from '../config.js';
import { LeaseAuthority } from '../throttle/lease-authority.js';
import { isMessage, type ToPrimary, type ToWorker } from './messages.js';

/** How long the primary waits for a worker to give back unused lease points. */
const GIVE_BACK_TIMEOUT_MS = 500;
/** Least time between two restarts of crashed workers (no tight crash loop). */
const RESTART_DELAY_MS = 1_000;

/**
 * How many worker processes serve the edge: `GATEWAY_WORKERS`, `auto` being one a CPU.
 * More than one cannot join a control plane (a join token is single-use, and a workload's
 * key never leaves its process): that deployment scales with more gateway replicas instead.
 */
export function workerCount(config: GatewayConfig): number {
  const n = config.GATEWAY_WORKERS === 'auto' ? availableParallelism() : Number(config.GATEWAY_WORKERS);
  if (n > 1 && config.FLOTILLA_CONTROL_URL) {
    throw new ConfigError(
      'GATEWAY_WORKERS',
      'GATEWAY_WORKERS above 1 cannot be used with FLOTILLA_CONTROL_URL (one join token, one workload key per process): run more gateway replicas instead',
    );
  }
  return n;
}

export interface ClusterHandle {
  /** Where clients go (as the first worker reported it). */
  readonly listening: string;
  readonly workers: () => readonly Worker[];
  /** Stops every worker gracefully (SIGTERM, each drains), then closes the audit trail. */
  stop(): Promise<void>;
}

/**
 * The gateway's primary process: forks `count` workers that share the listening ports
 * (node:cluster hands connections out round-robin), holds the rate-limit windows they
 * share (`LeaseAuthority`), and alone appends to the audit trail. Each worker runs the
 * whole gateway, with its own revocation subscription (Redis or SSE), so a revocation
 * reaches every worker as fast as it reaches one gateway.
 */
export async function startCluster(
  config: GatewayConfig,
  count: number,
  log: ServiceContext['log'],
): Promise<ClusterHandle> {
  const ports = await fixedPorts(config);
  const audit = await AuditLog.open(join(config.FLOTILLA_HOME, 'audit', 'gateway.jsonl'), 'gateway');
  const primary = new Primary(config, ports, audit, log);
  await primary.start(count);
  return primary;
}

/**
 * Workers listening on port 0 would each get the same "random" port per (host, port)
 * pair, and the kit's and the edge's listeners would collide: fixed ports are chosen here.
 */
async function fixedPorts(config: GatewayConfig): Promise<Record<string, string>> {
  const ports: Record<string, string> = {};
  for (const [setting, host] of [
    ['PORT', config.HOST],
    ['TLS_PORT', config.TLS_HOST ?? config.HOST],
    ['HTTP_REDIRECT_PORT', config.HOST],
  ] as const) {
    if (config[setting] === 0) ports[setting] = String(await freePort(host));
  }
  return ports;
}

/** The workers, the lease authority they share, and the audit trail they write through. */
class Primary implements ClusterHandle {
  listening = '';
  readonly #config: GatewayConfig;
  readonly #ports: Record<string, string>;
  readonly #audit: AuditLog;
  readonly #log: ServiceContext['log'];
  readonly #live = new Map<number, Worker>();
  readonly #givingBack = new Map<number, (returned: number) => void>();
  readonly #authority = new LeaseAuthority(
    () => this.#live.size,
    (workerId, limiter, key, resetAt) => this.#askGiveBack(workerId, limiter, key, resetAt),
  );
  readonly #sweep = setInterval(() => this.#authority.sweep(), 60_000);
  #nextGiveBack = 0;
  #stopping = false;
  #lastRestart = 0;
  #stopped: Promise<void> | undefined;

  constructor(
    config: GatewayConfig,
    ports: Record<string, string>,
    audit: AuditLog,
    log: ServiceContext['log'],
  ) {
    this.#config = config;
    this.#ports = ports;
    this.#audit = audit;
    this.#log = log;
    this.#sweep.unref();
    cluster.on('message', this.#onMessage);
  }

  readonly workers = (): readonly Worker[] => [...this.#live.values()];

  /** Every worker must report ready; one failing to start fails the whole start. */
  async start(count: number): Promise<void> {
    const starting = Array.from({ length: count }, () => this.#fork());
    try {
      const urls = await Promise.all(starting.map(ready));
      this.listening = urls[0]!;
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#log.info(
      { workers: starting.map((w) => w.process.pid), listening: this.listening },
      'gateway workers ready',
    );
    cluster.on('exit', this.#onExit);
  }

  /** Stops every worker gracefully (SIGTERM, each drains), then closes the audit trail. */
  stop(): Promise<void> {
    return (this.#stopped ??= (async () => {
      this.#stopping = true;
      await stopWorkers(this.workers(), this.#config.SHUTDOWN_TIMEOUT_MS);
      cluster.off('message', this.#onMessage);
      cluster.off('exit', this.#onExit);
      clearInterval(this.#sweep);
      await this.#audit.close();
    })());
  }

  #fork(): Worker {
    const worker = cluster.fork(this.#ports);
    this.#live.set(worker.id, worker);
    worker.once('exit', () => {
      this.#live.delete(worker.id);
      this.#authority.forget(worker.id);
    });
    return worker;
  }

  /** Asks a worker to give back a lease's unused points; 0 if it is gone or too slow. */
  #askGiveBack(workerId: number, limiter: string, key: string, resetAt: number): Promise<number> {
    return new Promise<number>((resolve) => {
      const worker = this.#live.get(workerId);
      if (!worker) return resolve(0);
      const id = ++this.#nextGiveBack;
      const timer = setTimeout(() => (this.#givingBack.delete(id), resolve(0)), GIVE_BACK_TIMEOUT_MS);
      this.#givingBack.set(id, (n) => (clearTimeout(timer), resolve(n)));
      send(worker, { type: 'gw:give-back', id, limiter, key, resetAt });
    });
  }

  readonly #onMessage = (worker: Worker, m: unknown): void => {
    if (!isMessage<ToPrimary>(m)) return;
    switch (m.type) {
      case 'gw:lease':
        void this.#authority
          .lease(worker.id, m.req)
          .then((grant) => send(worker, { type: 'gw:lease', id: m.id, grant }));
        break;
      case 'gw:given-back': {
        const done = this.#givingBack.get(m.id);
        this.#givingBack.delete(m.id);
        done?.(m.returned);
        break;
      }
      case 'gw:audit':
        this.#audit.append(m.event).catch((err: unknown) => this.#log.error({ err }, 'audit append failed'));
        break;
      case 'gw:ready':
        break;
    }
  };

  /** A worker that dies later is replaced; its unspent lease points stay spent until the window ends. */
  readonly #onExit = (worker: Worker, code: number, signal: string): void => {
    if (this.#stopping) return;
    this.#log.error({ pid: worker.process.pid, code, signal }, 'gateway worker exited; starting another');
    const wait = Math.max(0, this.#lastRestart + RESTART_DELAY_MS - Date.now());
    this.#lastRestart = Date.now() + wait;
    setTimeout(() => {
      if (this.#stopping) return;
      ready(this.#fork()).catch((err: unknown) => this.#log.error({ err }, 'replacement worker failed'));
    }, wait);
  };
}

function ready(worker: Worker): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (isMessage<ToPrimary>(m) && m.type === 'gw:ready') {
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        resolve(m.listening);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      worker.off('message', onMessage);
      reject(new WorkerStartError(code ?? 1, signal));
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

/** A worker exited before it was ready (its own stderr line says why), with this exit code. */
export class WorkerStartError extends FlotillaError {
  readonly exitCode: number;
  constructor(exitCode: number, signal: string | null) {
    super(
      'FLT_UNAVAILABLE',
      `a gateway worker exited before it was ready (${signal ?? `exit code ${exitCode}`})`,
    );
    this.name = 'WorkerStartError';
    this.exitCode = exitCode;
  }
}

/** SIGTERM to each (each drains in-flight requests, as one gateway does), SIGKILL past the deadline. */
async function stopWorkers(workers: readonly Worker[], drainMs: number): Promise<void> {
  await Promise.all(
    workers.map(async (worker) => {
      if (worker.isDead()) return;
      const exited = once(worker, 'exit');
      worker.process.kill('SIGTERM');
      const timer = setTimeout(() => worker.process.kill('SIGKILL'), drainMs + 5_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

function send(worker: Worker, m: ToWorker): void {
  // A worker that is gone cannot be told; its requests went with it.
  if (worker.isConnected()) worker.send(m, undefined, () => undefined);
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
