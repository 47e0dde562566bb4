import {
  ConfigError,
  createUserAuth,
  defineService,
  FlotillaError,
  type ServiceContext,
} from '@flotilla/kit';
import { BucketAccess } from './access/bucket-access.js';
import { type BlobBackend, openBackend } from './backends/index.js';
import { type Bucket, readBucketsFile } from './buckets.js';
import { storageConfig } from './config.js';
import { bucketRoutes } from './http/bucket-routes.js';
import { Guard } from './http/guard.js';
import { objectRoutes } from './http/object-routes.js';
import { storageMetrics } from './metrics.js';
import { ObjectStore } from './objects/object-store.js';
import type { DataKeys } from './sse/data-keys.js';
import { KmsDataKeys } from './sse/kms-keys.js';
import { LocalDataKeys } from './sse/local-keys.js';

type StorageContext = ServiceContext<(typeof storageConfig)['properties']>;

export interface StorageOptions {
  /** Buckets in code (tests); otherwise STORAGE_BUCKETS_FILE. */
  buckets?: Bucket[];
}

/** What tests reach through {@link storageInternals}. */
export interface StorageInternals {
  backend: BlobBackend;
  store: ObjectStore;
}
const internals = new WeakMap<object, StorageInternals>();

export function storageInternals(ctx: object): StorageInternals {
  const found = internals.get(ctx);
  if (!found) throw new FlotillaError('FLT_INTERNAL', 'not a storage service context');
  return found;
}

/** The data keys: sealed by a local root key when STORAGE_LOCAL_KEY_FILE is set, else by the fleet's KMS. */
async function openDataKeys(ctx: StorageContext, buckets: Bucket[]): Promise<DataKeys> {
  const cfg = ctx.config;
  if (cfg.STORAGE_LOCAL_KEY_FILE) return LocalDataKeys.open(cfg.STORAGE_LOCAL_KEY_FILE);
  if (!ctx.identity)
    throw new ConfigError(
      'STORAGE_LOCAL_KEY_FILE',
      'without a control plane there is no KMS to call: set STORAGE_LOCAL_KEY_FILE',
    );
  const own = buckets.flatMap((b) => (b.key === undefined ? [] : [[b.name, b.key] as const]));
  const keys = new KmsDataKeys(ctx.kms, cfg.STORAGE_KMS_KEY, new Map(own));
  ctx.onClose(() => keys.close());
  return keys;
}

/** Builds the storage service (buckets from code or from STORAGE_BUCKETS_FILE). */
export function createStorage(opts: StorageOptions = {}) {
  return defineService({
    name: 'storage',
    config: storageConfig,
    migrations: { dir: new URL('../migrations', import.meta.url) },
    async routes(app, ctx) {
      const cfg = ctx.config;
      // Long transfers: the kit's request timeout is sized for JSON APIs.
      app.server.requestTimeout = cfg.STORAGE_TRANSFER_TIMEOUT_MS;
      const buckets =
        opts.buckets ?? (cfg.STORAGE_BUCKETS_FILE ? readBucketsFile(cfg.STORAGE_BUCKETS_FILE) : []);
      const access = await BucketAccess.open(buckets, cfg.FLOTILLA_POLICY_DIR, () => ctx.policy);
      const keys = await openDataKeys(ctx, buckets);
      const backend = await openBackend(cfg.STORAGE_URL, cfg.FLOTILLA_HOME);
      ctx.onClose(() => backend.close());
      const store = new ObjectStore(ctx.db, backend, keys, ctx.log);
      const orphans = await store.sweep();
      ctx.log.info(
        { backend: backend.kind, keys: keys.describe, orphans, buckets: buckets.length },
        'storage open',
      );
      internals.set(ctx, { backend, store });
      const users = cfg.AUTH_ISSUER
        ? createUserAuth({ issuer: cfg.AUTH_ISSUER, audience: cfg.AUTH_AUDIENCE, jwksUrl: cfg.AUTH_JWKS_URL })
        : undefined;
      const guard = new Guard(
        ctx,
        access,
        new Map(buckets.map((b) => [b.name, b])),
        users,
        storageMetrics(ctx.metrics),
      );
      await app.register(async (api) => {
        bucketRoutes(api, buckets, store, guard, access);
        objectRoutes(api, ctx, store, guard);
      });
    },
  });
}

export const storage = createStorage();
