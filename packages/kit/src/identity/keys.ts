import { webcrypto } from 'node:crypto';
import { x509 } from './x509.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyAndCsr {
  /** PKCS#8 PEM, kept in memory only. */
  keyPem: string;
  csrPem: string;
}

/**
 * Generates a fresh P-256 key pair in this process and a CSR for the service's SPIFFE
 * ID. The private key is exported only so that node:tls can use it; it is never sent.
 */
export async function generateKeyAndCsr(service: string, spiffeId: string): Promise<KeyAndCsr> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${service}`,
    keys,
    signingAlgorithm: SIGNING,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}
