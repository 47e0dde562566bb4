import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
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

// RFC 5758 §3.2: ecdsa-with-SHA256/384/512; SHA-1 and anything else is refused.
const ECDSA_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
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
  const key = checkKey(csr.publicKey);
  // PKCS#10 proof of possession (RFC 2986 §3): the request is signed by the key it certifies.
  const der = AsnConvert.parse(csr.rawData, CertificationRequest);
  const hash = ECDSA_HASHES[der.signatureAlgorithm.algorithm];
  if (!hash) throw new CsrError('signature', 'csr must be signed with ECDSA and SHA-256, SHA-384 or SHA-512');
  let valid = false;
  try {
    const info = der.certificationRequestInfoRaw;
    valid =
      !!info && verify(hash, Buffer.from(info), { key, dsaEncoding: 'der' }, Buffer.from(der.signature));
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

function checkKey(key: x509.PublicKey): KeyObject {
  let details: { type?: string; curve?: string };
  let k: KeyObject;
  try {
    // node:crypto (OpenSSL) decodes the SPKI and checks the point lies on the curve.
    k = createPublicKey({ key: Buffer.from(key.rawData), format: 'der', type: 'spki' });
    details = { type: k.asymmetricKeyType, curve: k.asymmetricKeyDetails?.namedCurve };
  } catch {
    throw new CsrError('key_type', 'csr public key cannot be decoded');
  }
  if (details.type !== 'ec' || details.curve !== 'prime256v1') {
    const got =
      details.type === 'ec' ? `EC ${details.curve ?? '?'}` : (details.type ?? 'unknown').toUpperCase();
    throw new CsrError('key_type', `csr key must be EC P-256 (got ${got})`);
  }
  return k;
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
