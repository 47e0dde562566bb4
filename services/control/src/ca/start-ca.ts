import { FlotillaError, type ServiceContext } from '@flotilla/kit';
import type { ControlConfig } from '../config.js';
import { type CaMetrics, createCaMetrics } from '../metrics.js';
import { CaStore } from './ca-store.js';
import { CertificateAuthority } from './certificate-authority.js';
import { CrlCache } from './crl.js';
import { OcspResponder } from './ocsp.js';
import { type PublicListener, startPublicListener } from './public-listener.js';

export interface StartedCa {
  authority: CertificateAuthority;
  store: CaStore;
  metrics: CaMetrics;
  /** The plain-HTTP listener for CRLs and OCSP (closed with the service). */
  listener: PublicListener;
}

/**
 * Opens the CAs (creating them on first start), starts the CRL/OCSP listener whose address
 * goes into every certificate, and keeps the CRLs fresh and expired CAs retired; `onBundle`
 * hears of every change of the trust bundle (a rotation, a root activating).
 */
export async function startCa(
  ctx: ServiceContext<ControlConfig>,
  kek: Buffer,
  onBundle: () => Promise<void>,
): Promise<StartedCa> {
  const { config, log } = ctx;
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
  const requireCa = () => {
    if (!ready.ca) throw new FlotillaError('FLT_UNAVAILABLE', 'the certificate authority is not ready');
    return ready.ca;
  };
  const ocsp = new OcspResponder({
    authorities: () => store.all(),
    status: (issuer, serial) => requireCa().status(issuer, serial),
    lifetimeMs: crlLifetimeMs,
  });
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
  keepHousekeeping(ctx, authority, Math.min(30_000, crlLifetimeMs / 4), onBundle);
  return { authority, store, metrics, listener };
}

/** Periodic CA work (CRLs, retiring CAs); a changed bundle version is reported to `onBundle`. */
function keepHousekeeping(
  ctx: ServiceContext<ControlConfig>,
  authority: CertificateAuthority,
  tickMs: number,
  onBundle: () => Promise<void>,
): void {
  let lastVersion = authority.bundle().version;
  const ticker = setInterval(() => {
    authority
      .tick()
      .then(async () => {
        if (authority.bundle().version !== lastVersion) {
          lastVersion = authority.bundle().version;
          await onBundle();
        }
      })
      .catch((err: unknown) => ctx.log.error({ err }, 'CA housekeeping failed'));
  }, tickMs);
  ticker.unref();
  ctx.onClose(() => clearInterval(ticker));
}
