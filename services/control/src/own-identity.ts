import { ManualIdentity, type ServiceContext, type TlsMaterial } from '@flotilla/kit';
import type { CertificateAuthority } from './ca/certificate-authority.js';
import { EC_P256, SIGNING, subtle, x509 } from './x509.js';

const pem = (items: readonly string[]) => `${items.map((p) => p.trim()).join('\n')}\n`;

/**
 * The control plane's own TLS material: a fresh P-256 key (never stored) and a
 * certificate from its own CA for `spiffe://<td>/svc/control` (DNS `localhost`, IP
 * `127.0.0.1`), with the current roots to verify callers against.
 */
export async function controlTlsMaterial(ca: CertificateAuthority): Promise<TlsMaterial> {
  const keys = await subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const issued = await ca.issueDirect('control', keys.publicKey);
  const leaf = new x509.X509Certificate(issued.certificate);
  return {
    key: x509.PemConverter.encode(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
    cert: pem([issued.certificate, ...issued.chain]),
    ca: pem(ca.bundle().roots),
    spiffeId: issued.spiffeId,
    serial: issued.serial,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
}

/**
 * The kit builds its TLS server before the service's routes run, but the CA lives in
 * the service's database, opened by the kit. So the control plane starts on a
 * throw-away self-signed certificate that no client trusts, and swaps in its
 * CA-issued one (ManualIdentity.update) before the listener opens.
 */
export async function placeholderIdentity(trustDomain: string): Promise<ManualIdentity> {
  const keys = await subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=flotilla control plane (starting)',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3600_000),
    keys,
    signingAlgorithm: SIGNING,
  });
  const certPem = cert.toString('pem');
  return new ManualIdentity(trustDomain, {
    key: x509.PemConverter.encode(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
    cert: certPem,
    ca: certPem,
    spiffeId: `spiffe://${trustDomain}/svc/control`,
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  });
}

/**
 * Keeps the control plane's own server identity current: a certificate from its own CA,
 * renewed at half-life; the roots it verifies callers against, after every bundle change
 * (`refreshRoots`); and the serials it refuses, at once for a revocation made here (before
 * the revoking request is answered) and within a second for one made by another control
 * plane on the same database. Without a `ManualIdentity` (started with another identity)
 * there is nothing to keep.
 */
export async function keepOwnIdentity(
  ctx: Pick<ServiceContext, 'log' | 'onClose'>,
  identity: ManualIdentity | undefined,
  ca: CertificateAuthority,
): Promise<{ refreshRoots: () => Promise<void> }> {
  if (!identity) return { refreshRoots: async () => undefined };
  let renewTimer: NodeJS.Timeout | undefined;
  const renew = async () => {
    const material = await controlTlsMaterial(ca);
    identity.update(material);
    const halfLife = (material.notAfter.getTime() - material.notBefore.getTime()) / 2;
    clearTimeout(renewTimer);
    renewTimer = setTimeout(
      () => {
        renew().catch((err: unknown) =>
          ctx.log.error({ err }, 'control plane could not renew its own certificate'),
        );
      },
      Math.max(1000, material.notBefore.getTime() + halfLife - Date.now()),
    );
    renewTimer.unref();
  };
  await renew();

  const refreshRevoked = () =>
    ca.revokedSerials().then(
      (serials) => identity.setRevoked(serials),
      (err: unknown) => ctx.log.error({ err }, 'could not refresh revoked serials'),
    );
  identity.setRevoked(await ca.revokedSerials()); // no start without it
  const revokedTimer = setInterval(() => void refreshRevoked(), 1_000);
  revokedTimer.unref();
  const stopHearing = ca.onRevoke(refreshRevoked);
  ctx.onClose(() => {
    clearTimeout(renewTimer);
    clearInterval(revokedTimer);
    stopHearing();
  });
  return {
    refreshRoots: async () => identity.update({ ...identity.current(), ca: pem(ca.bundle().roots) }),
  };
}
