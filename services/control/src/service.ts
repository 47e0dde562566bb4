import {
  defineService,
  ManualIdentity,
  type Service,
  type ServiceApp,
  type ServiceContext,
  type StartOptions,
} from '@flotilla/kit';
import { isAdminRequest, loadAdminToken, requireAdmin } from './admin-auth.js';
import type { CertificateAuthority } from './ca/certificate-authority.js';
import { loadKek } from './ca/key-encryption.js';
import { caRoutes } from './ca/routes.js';
import { startCa } from './ca/start-ca.js';
import { type ControlConfig, controlConfig } from './config.js';
import { migrations } from './migrations.js';
import { keepOwnIdentity, placeholderIdentity } from './own-identity.js';
import { startPolicyDistribution } from './policy-bundle/index.js';
import { prometheusRoutes } from './prometheus/routes.js';
import { startRegistry } from './registry/index.js';

/** What a started control plane exposes to its starter (tests, `flotilla control`). */
export interface ControlInternals {
  ca: CertificateAuthority;
  publicUrl: string;
  adminToken: string;
  ctx: ServiceContext<ControlConfig>;
}

/**
 * The control plane as a kit service: certificate authority, policy distribution and
 * registry on one mTLS listener. `onReady` hears of the CA once it is loaded (before the
 * listener opens). Started without an `identity`, it serves mTLS with a certificate from
 * its own CA; callers without a certificate may still join.
 */
export function createControlService(
  onReady?: (internals: ControlInternals) => void,
): Service<ControlConfig> {
  const service = defineService({
    name: 'control',
    config: controlConfig,
    migrations,
    routes: async (app, ctx) => onReady?.(await compose(app, ctx)),
  });
  return {
    name: service.name,
    async start(opts: StartOptions = {}) {
      const env = { ...(opts.env ?? process.env) };
      // Joining services have no certificate yet; renewal checks the caller's certificate itself.
      env.FLOTILLA_CLIENT_CERT = 'optional';
      // The control plane is its own CA: it never joins another control plane.
      delete env.FLOTILLA_CONTROL_URL;
      const identity =
        opts.identity ?? (await placeholderIdentity(env.FLOTILLA_TRUST_DOMAIN || 'flotilla.local'));
      return service.start({ ...opts, env, identity });
    },
  };
}

/** The parts, in the order they depend on each other: keys, CA, own identity, API. */
async function compose(app: ServiceApp, ctx: ServiceContext<ControlConfig>): Promise<ControlInternals> {
  const { config, log } = ctx;
  const kek = await loadKek(config.FLOTILLA_HOME, config.FLOTILLA_CA_KEK);
  const adminToken = await loadAdminToken(config.FLOTILLA_HOME, config.FLOTILLA_ADMIN_TOKEN);
  let refreshRoots = async (): Promise<void> => undefined;
  const { authority, metrics, listener } = await startCa(ctx, kek, () => refreshRoots());
  const identity = ctx.identity instanceof ManualIdentity ? ctx.identity : undefined;
  ({ refreshRoots } = await keepOwnIdentity(ctx, identity, authority));

  const policy = await startPolicyDistribution(app, ctx, {
    kek,
    isAdmin: isAdminRequest(adminToken),
    requireAdmin: requireAdmin(adminToken, ctx),
    debounceMs: config.CONTROL_POLICY_DEBOUNCE_MS,
  });
  await caRoutes(app, ctx, {
    ca: authority,
    metrics,
    adminToken,
    onBundleChange: () => refreshRoots(),
    policyKeys: policy.publicKeys,
  });
  const registry = await startRegistry(
    app,
    ctx,
    {
      heartbeatSeconds: config.REGISTRY_HEARTBEAT_SECONDS,
      ttlSeconds: config.REGISTRY_TTL_SECONDS,
      healthIntervalMs: config.REGISTRY_HEALTH_INTERVAL_MS,
      healthMaxFailures: config.REGISTRY_HEALTH_MAX_FAILURES,
      allowedNetworks: config.REGISTRY_ALLOWED_NETWORKS,
    },
    isAdminRequest(adminToken),
  );
  prometheusRoutes(app, {
    registry,
    trustDomain: config.FLOTILLA_TRUST_DOMAIN,
    isAdmin: isAdminRequest(adminToken),
  });
  log.info(
    { publicUrl: listener.url, bundleVersion: authority.bundle().version },
    'certificate authority ready',
  );
  return { ca: authority, publicUrl: listener.url, adminToken, ctx };
}
