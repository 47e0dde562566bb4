import { ManualIdentity, type TlsMaterial } from '@flotilla/kit';
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
