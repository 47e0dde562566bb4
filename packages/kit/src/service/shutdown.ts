import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BaseConfig } from '../config/index.js';
import type { Registration } from '../discovery/index.js';
import type { Readiness } from './health.js';

type Closer = () => Promise<void> | void;

/** What a service has opened and must close at shutdown: closed in reverse order of opening. */
export class Closers {
  readonly #closers: Closer[] = [];

  add(close: Closer): void {
    this.#closers.push(close);
  }

  /** Closes everything, last opened first; a closer that fails is logged and the rest still run. */
  async run(log: Logger): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        log.error({ err }, 'error while closing a dependency');
      }
    }
  }
}

export interface StopParts {
  app: FastifyInstance;
  config: BaseConfig;
  log: Logger;
  readiness: Readiness;
  closers: Closers;
  /** The service's entry in the registry, when it has a control plane. */
  registration: Registration | undefined;
}

/**
 * The service's `stop`: unready and out of the registry first (callers get a moment to
 * hear of it), then the listener closes and in-flight requests finish within
 * `SHUTDOWN_TIMEOUT_MS`, then the dependencies close. Safe to call more than once: every
 * call gets the same promise.
 */
export function gracefulStop(parts: StopParts): () => Promise<void> {
  const { app, config, log, readiness, closers, registration } = parts;
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      readiness.drain();
      if (registration) {
        // Leave the registry before draining, and give callers a moment to hear of it.
        await registration.deregister();
        await new Promise((r) => setTimeout(r, config.FLOTILLA_DEREGISTER_DELAY_MS));
      }
      log.info('shutting down: draining in-flight requests');
      await closeWithDeadline(app, config.SHUTDOWN_TIMEOUT_MS, log);
      await closers.run(log);
      log.info('stopped');
    })();
    return stopping;
  };
}

/** Closes the server; connections still open at the deadline are closed under their requests. */
async function closeWithDeadline(app: FastifyInstance, deadlineMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const closing = app.close();
  if ((await Promise.race([closing, deadline])) === 'deadline') {
    log.warn({ deadlineMs }, 'shutdown deadline passed: closing remaining connections');
    app.server.closeAllConnections();
  }
  clearTimeout(timer);
  await closing;
}
