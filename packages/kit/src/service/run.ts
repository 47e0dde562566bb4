import { ConfigError } from '../errors/index.js';
import type { RunningService, Service } from './service.js';
import { releaseStartupGarbage } from '../observability/startup-memory.js';

const STARTUP_SETTLE_MS = 1_000;

/**
 * The `main` of a service process: starts it, stops it gracefully on SIGTERM or
 * SIGINT (or when the supervisor that started it with an IPC channel is gone) and exits 0. A bad configuration prints one line naming the setting and
 * exits 78 (EX_CONFIG); any other start failure prints one line and exits 1.
 *
 * @example
 * // src/main.ts of a service
 * await runService(notes);
 */
export async function runService(service: Service): Promise<RunningService | undefined> {
  let running: RunningService;
  try {
    running = await service.start();
  } catch (err) {
    const prefix = err instanceof ConfigError ? 'invalid configuration: ' : 'failed to start: ';
    process.stderr.write(`${service.name}: ${prefix}${err instanceof Error ? err.message : String(err)}\n`);
    // A service that could not start must not linger on some handle left open.
    process.exit(err instanceof ConfigError ? 78 : 1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    running.ctx.log.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        running.ctx.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Started by a supervisor with an IPC channel (`flotilla up`): if the supervisor dies
  // without stopping us (SIGKILL, a crash), the channel closes; stop rather than linger
  // on the fleet's ports.
  if (process.channel) process.once('disconnect', () => onSignal('SIGHUP'));
  // Once registration and the first health checks are through, idle at the steady size.
  setTimeout(() => void releaseStartupGarbage(), STARTUP_SETTLE_MS).unref();
  return running;
}
