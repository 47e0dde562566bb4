import {
  defineService,
  FlotillaError,
  type Service,
  type ServiceApp,
  type ServiceContext,
} from '@flotilla/kit';
import { BusAuthz } from './authz/bus-authz.js';
import { brokerConfigSchema } from './config.js';
import { DeliveryEngine } from './delivery/delivery-engine.js';
import { brokerMetrics } from './metrics.js';
import { migrations } from './migrations.js';
import { BrokerAdmin } from './admin-operations.js';
import { BrokerOperations } from './operations.js';
import { registerBrokerRoutes } from './routes/broker-routes.js';
import { AdminStore } from './store/admin-store.js';
import { Depths } from './store/depths.js';
import { MessageStore } from './store/message-store.js';

type BrokerContext = ServiceContext<(typeof brokerConfigSchema)['properties']>;

/** What tests and tools reach through {@link brokerInternals}. */
export interface BrokerInternals {
  store: MessageStore;
  engine: DeliveryEngine;
  depths: Depths;
}

const internals = new WeakMap<object, BrokerInternals>();

export function brokerInternals(ctx: object): BrokerInternals {
  const found = internals.get(ctx);
  if (!found) throw new FlotillaError('FLT_INTERNAL', 'not a broker service context');
  return found;
}

async function setup(app: ServiceApp, ctx: BrokerContext): Promise<void> {
  const cfg = ctx.config;
  const store = new MessageStore(ctx.db);
  // Consumers of an earlier life are gone: what they held is ready for the next ones.
  const released = await store.clearLeases();
  if (released) ctx.log.info({ released }, 'leases of the previous run released');
  const metrics = brokerMetrics(ctx.metrics);
  const depths = new Depths(await store.depths(), metrics.depth);
  const adminStore = new AdminStore(ctx.db);
  const dead = new Depths(await adminStore.deadCounts(), metrics.deadLetters);
  const engine = new DeliveryEngine(
    store,
    {
      maxAttempts: cfg.BROKER_MAX_ATTEMPTS,
      retryBaseMs: cfg.BROKER_RETRY_BASE_MS,
      visibilityMs: cfg.BROKER_VISIBILITY_TIMEOUT_MS,
      sweepMs: cfg.BROKER_SWEEP_MS,
    },
    metrics,
    depths,
    (err) => ctx.log.error({ err }, 'delivery failed'),
    dead,
  );
  engine.start();
  ctx.onClose(() => engine.stop());
  const authz = new BusAuthz(() => ctx.policy);
  const admin = new BrokerAdmin(adminStore, engine, authz, metrics, depths, dead, (e) => ctx.audit(e));
  const ops = new BrokerOperations(store, engine, authz, metrics, depths, cfg.BROKER_MAX_QUEUE_DEPTH);
  registerBrokerRoutes(
    app,
    ctx,
    ops,
    engine,
    metrics,
    {
      maxMessageBytes: cfg.BROKER_MAX_MESSAGE_BYTES,
      defaultPrefetch: cfg.BROKER_DEFAULT_PREFETCH,
    },
    admin,
  );
  internals.set(ctx, { store, engine, depths });
}

/** Defines the broker. */
export function createBrokerService(): Service<(typeof brokerConfigSchema)['properties']> {
  return defineService({ name: 'broker', config: brokerConfigSchema, migrations, routes: setup });
}

export const broker = createBrokerService();
