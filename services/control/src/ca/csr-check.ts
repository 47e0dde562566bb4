import { createPublicKey } from 'node:crypto';
import { x509 } from '../x509.js';
import { spiffeIdFor } from './names.js';

/** Why a CSR was refused; also the `reason` label of `control_csr_refused_total`. */
export type CsrRefusal =
  'malformed' | 'signature' | 'key_type' | 'subject' | 'san' | 'extension' | 'name_mismatch';

export class CsrError extends Error {
  constructor(
    readonly reason: CsrRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'CsrError';
  }
}

const ALLOWED_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);
// Extensions a CSR may carry; we never copy any of them into the certificate except
// that the SAN is checked against the identity (RFC 5280 §4.2.1.6).
const TOLERATED_EXTENSIONS = new Set([
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extKeyUsage
  '2.5.29.14', // subjectKeyIdentifier
]);
const SAN_OID = '2.5.29.17';
const BASIC_CONSTRAINTS_OID = '2.5.29.19';

/** Parses a PEM CSR; throws CsrError('malformed') for anything that is not one. */
export function parseCsr(pem: string): x509.Pkcs10CertificateRequest {
  if (!/^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) {
    throw new CsrError('malformed', 'csr must be a PEM-encoded PKCS#10 certificate request');
  }
  try {
    return new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new CsrError('malformed', 'csr is not a valid PKCS#10 certificate request');
  }
}

/**
 * Checks a CSR for `service`: a valid self-signature (PKCS#10 proof of possession), an
 * EC P-256 key, a subject that is empty or `CN=<service>`, and either no SAN or exactly
 * the service's SPIFFE id. Returns the public key to certify.
 */
export async function checkCsr(
  csr: x509.Pkcs10CertificateRequest,
  service: string,
  trustDomain: string,
): Promise<x509.PublicKey> {
  checkKey(csr.publicKey);
  const alg = csr.signatureAlgorithm as unknown as { name?: string; hash?: string | { name?: string } };
  const hash = typeof alg.hash === 'string' ? alg.hash : alg.hash?.name;
  if (alg.name !== 'ECDSA' || !hash || !ALLOWED_HASHES.has(hash)) {
    throw new CsrError('signature', 'csr must be signed with ECDSA and SHA-256, SHA-384 or SHA-512');
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new CsrError('signature', 'csr signature does not verify');

  for (const ext of csr.extensions) {
    if (ext.type === SAN_OID) checkSan(ext, service, trustDomain);
    else if (ext.type === BASIC_CONSTRAINTS_OID) {
      if (new x509.BasicConstraintsExtension(ext.rawData).ca) {
        throw new CsrError('extension', 'csr asks for a CA certificate');
      }
    } else if (!TOLERATED_EXTENSIONS.has(ext.type)) {
      throw new CsrError('extension', `csr carries an unsupported extension ${ext.type}`);
    }
  }
  checkSubject(csr.subjectName, service);
  return csr.publicKey;
}

function checkKey(key: x509.PublicKey): void {
  let details: { type?: string; curve?: string };
  try {
    // node:crypto (OpenSSL) decodes the SPKI and checks the point lies on the curve.
    const k = createPublicKey({ key: Buffer.from(key.rawData), format: 'der', type: 'spki' });
    details = { type: k.asymmetricKeyType, curve: k.asymmetricKeyDetails?.namedCurve };
  } catch {
    throw new CsrError('key_type', 'csr public key cannot be decoded');
  }
  if (details.type !== 'ec' || details.curve !== 'prime256v1') {
    const got =
      details.type === 'ec' ? `EC ${details.curve ?? '?'}` : (details.type ?? 'unknown').toUpperCase();
    throw new CsrError('key_type', `csr key must be EC P-256 (got ${got})`);
  }
}

function checkSubject(name: x509.Name, service: string): void {
  const rdns = name.toJSON();
  if (rdns.length === 0) return;
  const only = rdns.length === 1 ? rdns[0] : undefined;
  const types = only ? Object.keys(only) : [];
  const cn = only?.CN;
  if (types.length === 1 && cn?.length === 1 && cn[0] === service) return;
  throw new CsrError(
    cn?.length === 1 && types.length === 1 ? 'name_mismatch' : 'subject',
    `csr subject must be empty or "CN=${service}"`,
  );
}

function checkSan(ext: x509.Extension, service: string, trustDomain: string): void {
  const san = new x509.SubjectAlternativeNameExtension(ext.rawData);
  const items = san.names.items;
  const expected = spiffeIdFor(trustDomain, service);
  const first = items[0];
  if (items.length !== 1 || !first || first.type !== 'url') {
    throw new CsrError('san', `csr may carry no SAN or exactly the URI SAN ${expected}`);
  }
  if (first.value !== expected) {
    throw new CsrError(
      first.value.startsWith('spiffe://') ? 'name_mismatch' : 'san',
      `csr names ${first.value}, but only ${expected} is allowed`,
    );
  }
}
