import {
  defineService,
  ManualIdentity,
  type Service,
  type ServiceContext,
  type StartOptions,
} from '@flotilla/kit';
import { loadAdminToken } from './admin-auth.js';
import { CaStore } from './ca/ca-store.js';
import { CertificateAuthority } from './ca/certificate-authority.js';
import { CrlCache } from './ca/crl.js';
import { loadKek } from './ca/key-encryption.js';
import { OcspResponder } from './ca/ocsp.js';
import { controlConfig } from './config.js';
import { createCaMetrics } from './metrics.js';
import { migrations } from './migrations.js';
import { controlTlsMaterial, placeholderIdentity } from './own-identity.js';
import { apiRoutes } from './routes/api.js';
import { isAdminRequest, requireAdmin } from './admin-auth.js';
import { startRegistry } from './registry/index.js';
import { startPublicListener } from './routes/public-listener.js';
import { startPolicyDistribution } from './policy-bundle/index.js';

export type ControlConfig = typeof controlConfig.properties;

/** What a started control plane exposes to its starter (tests, `flotilla control`). */
export interface ControlInternals {
  ca: CertificateAuthority;
  publicUrl: string;
  adminToken: string;
  ctx: ServiceContext<ControlConfig>;
}

/**
 * The control plane as a kit service. `onReady` hears of the CA once it is loaded
 * (before the listener opens). Started without an `identity`, it serves mTLS with a
 * certificate from its own CA; callers without a certificate may still join.
 */
export function createControlService(
  onReady?: (internals: ControlInternals) => void,
): Service<ControlConfig> {
  const service = defineService({
    name: 'control',
    config: controlConfig,
    migrations,
    async routes(app, ctx) {
      const { config, log } = ctx;
      const kek = await loadKek(config.FLOTILLA_HOME, config.FLOTILLA_CA_KEK);
      const adminToken = await loadAdminToken(config.FLOTILLA_HOME, config.FLOTILLA_ADMIN_TOKEN);
      const store = await CaStore.open(
        ctx.db,
        kek,
        config.FLOTILLA_TRUST_DOMAIN,
        config.CONTROL_ROOT_ACTIVATION_SECONDS * 1000,
      );
      const crlLifetimeMs = config.CONTROL_CRL_LIFETIME_SECONDS * 1000;
      const metrics = createCaMetrics(ctx.metrics);
      const crls = new CrlCache(ctx.db, crlLifetimeMs);

      const ready: { ca?: CertificateAuthority } = {};
      const ocsp = new OcspResponder({
        authorities: () => store.all(),
        status: (issuer, serial) => requireCa().status(issuer, serial),
        lifetimeMs: crlLifetimeMs,
      });
      const requireCa = () => {
        if (!ready.ca) throw new Error('CA not ready');
        return ready.ca;
      };
      // The public listener comes first: its real address goes into every certificate.
      const listener = await startPublicListener(
        { host: config.HOST, port: config.CONTROL_PUBLIC_PORT, publicUrl: config.CONTROL_PUBLIC_URL },
        { ca: requireCa, ocsp: () => ocsp, log },
      );
      ctx.onClose(() => listener.close());
      const authority = new CertificateAuthority(ctx.db, store, crls, metrics, {
        trustDomain: config.FLOTILLA_TRUST_DOMAIN,
        ttlSeconds: config.FLOTILLA_CERT_TTL_SECONDS,
        publicUrl: listener.url,
        ...(config.CONTROL_SIGNING_WORKERS !== undefined
          ? { signingWorkers: config.CONTROL_SIGNING_WORKERS }
          : {}),
      });
      ready.ca = authority;
      await authority.tick();
      await authority.loadExpiryGauge();

      const identity = ctx.identity instanceof ManualIdentity ? ctx.identity : undefined;
      let renewTimer: NodeJS.Timeout | undefined;
      const renewOwn = async () => {
        if (!identity) return;
        const material = await controlTlsMaterial(authority);
        identity.update(material);
        const halfLife = (material.notAfter.getTime() - material.notBefore.getTime()) / 2;
        clearTimeout(renewTimer);
        renewTimer = setTimeout(
          () => {
            renewOwn().catch((err: unknown) =>
              log.error({ err }, 'control plane could not renew its own certificate'),
            );
          },
          Math.max(1000, material.notBefore.getTime() + halfLife - Date.now()),
        );
        renewTimer.unref();
      };
      const onBundleChange = async () => {
        if (identity)
          identity.update({
            ...identity.current(),
            ca: `${store
              .bundle()
              .roots.map((p) => p.trim())
              .join('\n')}\n`,
          });
      };
      await renewOwn();

      const tickMs = Math.min(30_000, crlLifetimeMs / 4);
      let lastVersion = store.bundle().version;
      const ticker = setInterval(() => {
        authority
          .tick()
          .then(async () => {
            if (store.bundle().version !== lastVersion) {
              lastVersion = store.bundle().version;
              await onBundleChange();
            }
          })
          .catch((err: unknown) => log.error({ err }, 'CA housekeeping failed'));
      }, tickMs);
      ticker.unref();
      ctx.onClose(() => {
        clearInterval(ticker);
        clearTimeout(renewTimer);
      });

      const policy = await startPolicyDistribution(app, ctx, {
        kek,
        isAdmin: isAdminRequest(adminToken),
        requireAdmin: requireAdmin(adminToken, ctx),
        debounceMs: config.CONTROL_POLICY_DEBOUNCE_MS,
      });
      await apiRoutes(app, ctx, {
        ca: authority,
        metrics,
        adminToken,
        onBundleChange,
        policyKeys: policy.publicKeys,
      });

      // The control plane's own server refuses revoked callers like every service does:
      // at once for a revocation made here (before the revoking request is answered), and
      // within a second for one made by another control plane on the same database.
      const refreshRevoked = () =>
        authority.revokedSerials().then(
          (serials) => identity?.setRevoked(serials),
          (err: unknown) => log.error({ err }, 'could not refresh revoked serials'),
        );
      identity?.setRevoked(await authority.revokedSerials()); // no start without it
      const revokedTimer = setInterval(() => void refreshRevoked(), 1_000);
      revokedTimer.unref();
      const stopHearing = authority.onRevoke(refreshRevoked);
      ctx.onClose(() => {
        clearInterval(revokedTimer);
        stopHearing();
      });

      await startRegistry(
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
      log.info(
        { publicUrl: listener.url, bundleVersion: store.bundle().version },
        'certificate authority ready',
      );
      onReady?.({ ca: authority, publicUrl: listener.url, adminToken, ctx });
    },
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

/** The control plane: certificate authority (and, later, registry and policy distribution). */
export const control = createControlService();
