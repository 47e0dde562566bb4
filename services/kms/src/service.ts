import {
  defineService,
  FlotillaError,
  type Service,
  type ServiceApp,
  type ServiceContext,
} from '@flotilla/kit';
import { kmsConfigSchema } from './config.js';
import { RootSealer } from './crypto/root-seal.js';
import { ensureDeclaredKeys, readDeclaredKeys } from './keys/declared-keys.js';
import { KeyAuthz } from './keys/key-authz.js';
import { KeyStore } from './keys/key-store.js';
import { maintainKeys } from './keys/maintenance.js';
import { KeyOperations } from './keys/operations.js';
import { migrations } from './migrations.js';
import { loadRootKey } from './root-key.js';
import { registerKmsRoutes } from './routes/kms-routes.js';
import { kmsMetrics } from './usage/metrics.js';
import { UsageLog } from './usage/usage-log.js';

type KmsContext = ServiceContext<(typeof kmsConfigSchema)['properties']>;

/** What tests and tools reach through {@link kmsInternals}. */
export interface KmsInternals {
  store: KeyStore;
  operations: KeyOperations;
  /** Runs automatic rotation and due deletions as if the time were `now` (the timer calls it with the clock). */
  maintain(now?: Date): ReturnType<typeof maintainKeys>;
}

const internals = new WeakMap<object, KmsInternals>();

export function kmsInternals(ctx: object): KmsInternals {
  const found = internals.get(ctx);
  if (!found) throw new FlotillaError('FLT_INTERNAL', 'not a KMS service context');
  return found;
}

export interface KmsServiceOptions {
  /** The clock (tests move it forward to see rotation and deletion happen). */
  now?: () => Date;
}

/** The timer of automatic rotation and scheduled deletion. */
function startMaintenance(ctx: KmsContext, maintain: () => Promise<unknown>): void {
  const timer = setInterval(() => {
    maintain().catch((err: unknown) => ctx.log.error({ err }, 'key maintenance failed'));
  }, ctx.config.KMS_MAINTENANCE_INTERVAL_MS);
  timer.unref();
  ctx.onClose(() => clearInterval(timer));
}

async function setup(app: ServiceApp, ctx: KmsContext, opts: KmsServiceOptions): Promise<void> {
  const cfg = ctx.config;
  const now = opts.now ?? (() => new Date());
  // Read before anything else: a bad root key stops the service with one line.
  const sealer = new RootSealer(loadRootKey(cfg));
  const declared = cfg.KMS_KEYS_FILE ? readDeclaredKeys(cfg.KMS_KEYS_FILE) : [];
  const store = new KeyStore(ctx.db, sealer);
  await store.checkRootKey();
  const usage = new UsageLog({
    db: ctx.db,
    audit: (e) => ctx.audit(e),
    metrics: kmsMetrics(ctx.metrics),
    windowDays: cfg.KMS_ANOMALY_WINDOW_DAYS,
    denialBurst: cfg.KMS_DENIAL_BURST,
    now,
    onError: (err) => ctx.log.error({ err }, 'usage rows could not be written'),
  });
  ctx.onClose(() => usage.flush());
  const operations = new KeyOperations(store, new KeyAuthz(() => ctx.policy), usage, now);
  const created = await ensureDeclaredKeys(store, declared, now());
  for (const name of created)
    await ctx.audit({
      actor: 'kms',
      action: 'kms.CreateKey',
      target: `Key::"${name}"`,
      outcome: 'success',
      details: { via: 'KMS_KEYS_FILE' },
    });
  const maintain = (at: Date = now()) => maintainKeys(store, usage, at);
  startMaintenance(ctx, maintain);
  registerKmsRoutes(app, ctx, operations);
  internals.set(ctx, { store, operations, maintain });
}

/** Defines the KMS; the clock is injectable for tests. */
export function createKmsService(
  opts: KmsServiceOptions = {},
): Service<(typeof kmsConfigSchema)['properties']> {
  return defineService({
    name: 'kms',
    config: kmsConfigSchema,
    migrations,
    routes: (app, ctx) => setup(app, ctx, opts),
  });
}

export const kms = createKmsService();
