import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { AuditLog, ConfigError, type ServiceContext } from '@flotilla/kit';
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
  // Workers listening on port 0 would each get the same "random" port per (host, port)
  // pair, and the kit's and the edge's listeners would collide: fixed ports are chosen here.
  const ports: Record<string, string> = {};
  for (const [setting, host] of [
    ['PORT', config.HOST],
    ['TLS_PORT', config.TLS_HOST ?? config.HOST],
    ['HTTP_REDIRECT_PORT', config.HOST],
  ] as const) {
    if (config[setting] === 0) ports[setting] = String(await freePort(host));
  }

  const audit = await AuditLog.open(join(config.FLOTILLA_HOME, 'audit', 'gateway.jsonl'), 'gateway');
  let stopping = false;
  const live = new Map<number, Worker>();
  const givingBack = new Map<number, (returned: number) => void>();
  let nextGiveBack = 0;
  const authority = new LeaseAuthority(
    () => live.size,
    (workerId, limiter, key, resetAt) =>
      new Promise<number>((resolve) => {
        const worker = live.get(workerId);
        if (!worker) return resolve(0);
        const id = ++nextGiveBack;
        const timer = setTimeout(() => (givingBack.delete(id), resolve(0)), GIVE_BACK_TIMEOUT_MS);
        givingBack.set(id, (n) => (clearTimeout(timer), resolve(n)));
        send(worker, { type: 'gw:give-back', id, limiter, key, resetAt });
      }),
  );
  const sweep = setInterval(() => authority.sweep(), 60_000);
  sweep.unref();

  const onMessage = (worker: Worker, m: unknown) => {
    if (!isMessage<ToPrimary>(m)) return;
    switch (m.type) {
      case 'gw:lease':
        void authority
          .lease(worker.id, m.req)
          .then((grant) => send(worker, { type: 'gw:lease', id: m.id, grant }));
        break;
      case 'gw:given-back': {
        const done = givingBack.get(m.id);
        givingBack.delete(m.id);
        done?.(m.returned);
        break;
      }
      case 'gw:audit':
        audit.append(m.event).catch((err: unknown) => log.error({ err }, 'audit append failed'));
        break;
      case 'gw:ready':
        break;
    }
  };
  cluster.on('message', onMessage);

  const fork = (): Worker => {
    const worker = cluster.fork(ports);
    live.set(worker.id, worker);
    worker.once('exit', () => {
      live.delete(worker.id);
      authority.forget(worker.id);
    });
    return worker;
  };

  // Start: every worker must report ready; one failing to start fails the whole start.
  const starting = Array.from({ length: count }, fork);
  let listening: string;
  try {
    const urls = await Promise.all(starting.map(ready));
    listening = urls[0]!;
  } catch (err) {
    stopping = true;
    await stopWorkers([...live.values()], config.SHUTDOWN_TIMEOUT_MS);
    cluster.off('message', onMessage);
    clearInterval(sweep);
    await audit.close();
    throw err;
  }
  log.info({ workers: starting.map((w) => w.process.pid), listening }, 'gateway workers ready');

  // A worker that dies later is replaced; its unspent lease points stay spent until the window ends.
  let lastRestart = 0;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, 'gateway worker exited; starting another');
    const wait = Math.max(0, lastRestart + RESTART_DELAY_MS - Date.now());
    lastRestart = Date.now() + wait;
    setTimeout(() => {
      if (!stopping) ready(fork()).catch((err: unknown) => log.error({ err }, 'replacement worker failed'));
    }, wait);
  });

  let stopped: Promise<void> | undefined;
  return {
    listening,
    workers: () => [...live.values()],
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await stopWorkers([...live.values()], config.SHUTDOWN_TIMEOUT_MS);
        cluster.off('message', onMessage);
        clearInterval(sweep);
        await audit.close();
      })()),
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

/** A worker exited before it was ready (its own stderr line says why); `code` is its exit code. */
export class WorkerStartError extends Error {
  readonly code: number;
  constructor(code: number, signal: string | null) {
    super(`a gateway worker exited before it was ready (${signal ?? `exit code ${code}`})`);
    this.name = 'WorkerStartError';
    this.code = code;
  }
}

/** SIGTERM to each (each drains in-flight requests, as one gateway does), SIGKILL past the deadline. */
async function stopWorkers(workers: Worker[], drainMs: number): Promise<void> {
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
