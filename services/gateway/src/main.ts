import cluster from 'node:cluster';
import { ConfigError, createLogger, loadConfig, runService } from '@flotilla/kit';
import { startCluster, WorkerStartError, workerCount } from './cluster/primary.js';
import { WorkerChannel } from './cluster/worker-channel.js';
import { gatewayConfigSchema } from './config.js';
import { createGatewayService, type GatewayRuntime } from './service.js';

// The fleet runner waits for one line on stdout: where clients go, i.e. the HTTPS edge (the
// kit's own listener only serves health, metrics and, with an identity, mTLS callers). Log
// lines are pino JSON too, but never carry `listening`.
const announce = (listening: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ listening, pid: process.pid, ...extra })}\n`);

if (cluster.isWorker) {
  // One of GATEWAY_WORKERS: the whole gateway, with shared limits and audit through the primary.
  const channel = WorkerChannel.ofProcess();
  const runtime: GatewayRuntime = {};
  const running = await runService(
    createGatewayService({ audit: channel.audit, sharedLimiters: channel.limiter }, runtime),
  );
  if (running) channel.ready(runtime.httpsUrl ?? running.url);
} else {
  let workers = 1;
  let config: ReturnType<typeof loadConfig<(typeof gatewayConfigSchema)['properties']>> | undefined;
  try {
    config = loadConfig(gatewayConfigSchema, process.env);
    workers = workerCount(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gateway: invalid configuration: ${err.message}\n`);
    process.exit(78);
  }
  if (workers === 1) {
    const runtime: GatewayRuntime = {};
    const running = await runService(createGatewayService({}, runtime));
    if (running) announce(runtime.httpsUrl ?? running.url);
  } else {
    const log = createLogger('gateway', config.LOG_LEVEL);
    try {
      const handle = await startCluster(config, workers, log);
      const onSignal = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'signal received: stopping the gateway workers');
        handle.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      announce(handle.listening, { workers });
    } catch (err) {
      // A worker that failed to start printed why; exit as it did (78 for a bad setting).
      process.stderr.write(`gateway: failed to start: ${(err as Error).message}\n`);
      process.exit(err instanceof WorkerStartError ? err.exitCode : 1);
    }
  }
}
