import { type CryptoKey, pemOf, SIGNING, x509 } from '../x509.js';
import type { Authority } from './authority.js';
import { BACKDATE_MS } from './ca-certs.js';
import { spiffeIdFor } from './names.js';
import { normaliseSerial, randomSerial } from './serial.js';

export interface LeafRequest {
  publicKey: x509.PublicKey | CryptoKey;
  service: string;
  trustDomain: string;
  issuer: Authority;
  ttlSeconds: number;
  /** Base URL of the public listener (CRL and OCSP). */
  publicUrl: string;
  now?: Date;
}

export interface IssuedLeaf {
  cert: x509.X509Certificate;
  pem: string;
  serial: string;
  issuerId: string;
  spiffeId: string;
  notBefore: Date;
  notAfter: Date;
}

export function crlUrl(publicUrl: string, caId: string): string {
  return `${publicUrl}/crl/${caId}.crl`;
}

export function ocspUrl(publicUrl: string): string {
  return `${publicUrl}/ocsp`;
}

export function caIssuerUrl(publicUrl: string, caId: string): string {
  return `${publicUrl}/ca/${caId}.crt`;
}

/**
 * Signs a workload certificate (an X.509-SVID): the one URI SAN is the SPIFFE id; DNS
 * `localhost` and IP `127.0.0.1` are added so local HTTPS verifies by host name too.
 */
export async function signLeaf(req: LeafRequest): Promise<IssuedLeaf> {
  const now = req.now ?? new Date();
  const spiffeId = spiffeIdFor(req.trustDomain, req.service);
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  // A leaf never outlives its issuer (RFC 5280 §6.1.3 would reject the chain after that).
  const notAfter = new Date(Math.min(now.getTime() + req.ttlSeconds * 1000, req.issuer.notAfter.getTime()));
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${req.service}`,
    issuer: req.issuer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: req.publicKey,
    signingKey: req.issuer.key,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      // X.509-SVID §4.3 wants the SAN; subject is informational only.
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: spiffeId },
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(req.publicKey),
      new x509.AuthorityKeyIdentifierExtension(req.issuer.keyId),
      new x509.CRLDistributionPointsExtension([crlUrl(req.publicUrl, req.issuer.id)]),
      new x509.AuthorityInfoAccessExtension({
        ocsp: ocspUrl(req.publicUrl),
        caIssuers: caIssuerUrl(req.publicUrl, req.issuer.id),
      }),
    ],
  });
  return {
    cert,
    pem: pemOf(cert),
    serial: normaliseSerial(serial),
    issuerId: req.issuer.id,
    spiffeId,
    notBefore,
    notAfter,
  };
}
