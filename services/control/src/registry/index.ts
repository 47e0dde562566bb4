import type { ServiceApp, ServiceContext } from '@flotilla/kit';
import type { FastifyRequest } from 'fastify';
import { allowedNetworks } from './allowed-networks.js';
import { HealthChecker } from './health-checker.js';
import { Registry } from './registry.js';
import { RegistryStore } from './registry-store.js';
import { registryRoutes } from './routes.js';

export { registryMigrations } from './registry-store.js';
export { Registry } from './registry.js';

export interface RegistrySettings {
  heartbeatSeconds: number;
  /** Missed heartbeats for this long remove an instance. */
  ttlSeconds: number;
  healthIntervalMs: number;
  healthMaxFailures: number;
  allowedNetworks: string;
}

/** How long a kit keeps one heartbeat stream open (see heartbeat-stream.ts). */
const HEARTBEAT_STREAM_SECONDS = 15;

/** Starts the registry inside the control plane: state, snapshotting, TTL, health checks, API. */
export async function startRegistry(
  app: ServiceApp,
  ctx: ServiceContext,
  settings: RegistrySettings,
  isAdmin: (request: FastifyRequest) => boolean,
): Promise<Registry> {
  const registry = new Registry();
  const store = new RegistryStore(ctx.db);
  const restored = await store.load(registry);
  if (restored) ctx.log.info({ instances: restored }, 'registry restored from its snapshot');
  store.follow(registry, (err) => ctx.log.error({ err }, 'registry snapshot write failed'));

  const sweeper = setInterval(() => registry.expire(settings.ttlSeconds * 1000), 250);
  sweeper.unref();
  const checker = new HealthChecker(
    registry,
    ctx.client,
    { intervalMs: settings.healthIntervalMs, maxFailures: settings.healthMaxFailures },
    ctx.log,
  );
  checker.start();
  ctx.onClose(async () => {
    clearInterval(sweeper);
    checker.stop();
    await store.flush();
  });

  // A stream must end well within the server's request timeout (which covers the whole body),
  // and carry a few heartbeats to be worth it; otherwise kits send one request per heartbeat.
  const requestTimeoutS = ctx.config.REQUEST_TIMEOUT_MS > 0 ? ctx.config.REQUEST_TIMEOUT_MS / 2000 : Infinity;
  const streamSeconds = Math.floor(Math.min(HEARTBEAT_STREAM_SECONDS, requestTimeoutS));
  const identity = ctx.identity;
  registryRoutes(app, ctx, {
    registry,
    isAllowedAddress: allowedNetworks(settings.allowedNetworks),
    heartbeatSeconds: settings.heartbeatSeconds,
    ttlSeconds: settings.ttlSeconds,
    heartbeatStreamSeconds: streamSeconds >= 3 * settings.heartbeatSeconds ? streamSeconds : 0,
    isRevoked: (serial) => identity?.isRevoked(serial) ?? false,
    isAdmin,
  });
  return registry;
}
