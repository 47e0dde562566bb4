import { normaliseSerial } from './spiffe.js';
import { x509 } from './x509.js';

/**
 * Revoked serials from a set of CRLs. A CRL counts only if its signature verifies
 * against one of the CA certificates we trust (roots or intermediates of the bundle),
 * so a tampered or foreign CRL can neither revoke nor un-revoke anything.
 */
export async function revokedSerials(crlPems: string[], caPems: string[]): Promise<Set<string>> {
  const cas = caPems.map((p) => new x509.X509Certificate(p));
  const revoked = new Set<string>();
  for (const pem of crlPems) {
    const crl = new x509.X509Crl(pem);
    const issuer = cas.find((ca) => ca.subject === crl.issuer);
    if (!issuer) throw new Error(`CRL from unknown issuer ${crl.issuer}`);
    if (!(await crl.verify({ publicKey: issuer.publicKey })))
      throw new Error(`CRL of ${crl.issuer} has a bad signature`);
    for (const entry of crl.entries) revoked.add(normaliseSerial(entry.serialNumber));
  }
  return revoked;
}
