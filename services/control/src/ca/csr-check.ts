import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ObjectIdentifier } from 'asn1js';
import {
  BasicConstraints,
  Extensions,
  type Name,
  SubjectAlternativeName,
  type SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { FlotillaError } from '@flotilla/errors';
import { x509 } from '../x509.js';
import { spiffeIdFor } from './names.js';

/** Why a CSR was refused; also the `reason` label of `control_csr_refused_total`. */
export type CsrRefusal =
  'malformed' | 'signature' | 'key_type' | 'subject' | 'san' | 'extension' | 'name_mismatch';

/**
 * A CSR the CA will not sign. One that names another identity than the caller may have
 * is a refused certificate (403); anything else is an invalid request (400). Imported from
 * the kit's errors entry alone: this file runs in the signing workers, which must not load
 * the whole kit (~1.5 s and ~40 MB more per worker).
 */
export class CsrError extends FlotillaError {
  constructor(
    readonly reason: CsrRefusal,
    message: string,
  ) {
    super(reason === 'name_mismatch' ? 'FLT_CERT_REFUSED' : 'FLT_CSR_INVALID', message);
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
// RFC 2985 §5.4.2: the extensionRequest attribute carries the requested extensions.
const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';
const COMMON_NAME_OID = '2.5.4.3';
// RFC 5480 §2.1.1: id-ecPublicKey with the namedCurve secp256r1 as its parameters.
const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';
const P256_PARAMETERS = Buffer.from(new ObjectIdentifier({ value: '1.2.840.10045.3.1.7' }).toBER());

/** A CSR that passed every check: the key to certify, as it appeared in the request. */
export interface CheckedCsr {
  spki: SubjectPublicKeyInfo;
}

/**
 * Parses a PEM CSR once (the checks and the certificate reuse the result); throws
 * CsrError('malformed') for anything that is not one.
 */
export function parseCsr(pem: string): CertificationRequest {
  if (!/^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(pem)) {
    throw new CsrError('malformed', 'csr must be a PEM-encoded PKCS#10 certificate request');
  }
  try {
    return AsnConvert.parse(x509.PemConverter.decodeFirst(pem), CertificationRequest);
  } catch {
    throw new CsrError('malformed', 'csr is not a valid PKCS#10 certificate request');
  }
}

/**
 * Checks a CSR for `service`: a valid self-signature (PKCS#10 proof of possession), an
 * EC P-256 key, a subject that is empty or `CN=<service>`, and either no SAN or exactly
 * the service's SPIFFE id. Returns the public key to certify.
 */
export function checkCsr(csr: CertificationRequest, service: string, trustDomain: string): CheckedCsr {
  const info = csr.certificationRequestInfo;
  const key = checkKey(info.subjectPKInfo);
  // PKCS#10 proof of possession (RFC 2986 §3): the request is signed by the key it certifies.
  const hash = ECDSA_HASHES[csr.signatureAlgorithm.algorithm];
  if (!hash) throw new CsrError('signature', 'csr must be signed with ECDSA and SHA-256, SHA-384 or SHA-512');
  let valid = false;
  try {
    const signed = csr.certificationRequestInfoRaw;
    valid =
      !!signed && verify(hash, Buffer.from(signed), { key, dsaEncoding: 'der' }, Buffer.from(csr.signature));
  } catch {
    valid = false;
  }
  if (!valid) throw new CsrError('signature', 'csr signature does not verify');

  for (const ext of requestedExtensions(csr)) {
    const value = ext.extnValue.buffer;
    if (ext.extnID === SAN_OID) checkSan(value, service, trustDomain);
    else if (ext.extnID === BASIC_CONSTRAINTS_OID) {
      if (parseOr(value, BasicConstraints).cA)
        throw new CsrError('extension', 'csr asks for a CA certificate');
    } else if (!TOLERATED_EXTENSIONS.has(ext.extnID)) {
      throw new CsrError('extension', `csr carries an unsupported extension ${ext.extnID}`);
    }
  }
  checkSubject(info.subject, service);
  return { spki: info.subjectPKInfo };
}

/** The extensions of the first extensionRequest attribute (as @peculiar/x509 reads them). */
function requestedExtensions(csr: CertificationRequest): Extensions {
  const attr = csr.certificationRequestInfo.attributes.find((a) => a.type === EXTENSION_REQUEST_OID);
  const value = attr?.values[0];
  return value ? parseOr(value, Extensions) : new Extensions();
}

function parseOr<T>(der: ArrayBuffer | ArrayBufferView, type: new () => T): T {
  try {
    return AsnConvert.parse(der, type);
  } catch {
    throw new CsrError('malformed', 'csr is not a valid PKCS#10 certificate request');
  }
}

function checkKey(spki: SubjectPublicKeyInfo): KeyObject {
  const point = Buffer.from(spki.subjectPublicKey);
  const params = spki.algorithm.parameters;
  // The common case, an uncompressed P-256 point (SEC 1 §2.3.3), is imported from its
  // coordinates: OpenSSL still checks that the point is a valid key on the curve, and it
  // is several times faster than decoding the SPKI again.
  if (
    spki.algorithm.algorithm === EC_PUBLIC_KEY_OID &&
    params &&
    P256_PARAMETERS.equals(Buffer.from(params)) &&
    point.length === 65 &&
    point[0] === 0x04
  ) {
    const jwk: JsonWebKey = {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    };
    try {
      return createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      throw new CsrError('key_type', 'csr public key cannot be decoded');
    }
  }
  return checkOtherKey(spki);
}

/** Anything else goes through OpenSSL's SPKI decoder, for a precise refusal (or a compressed point). */
function checkOtherKey(spki: SubjectPublicKeyInfo): KeyObject {
  let details: { type?: string; curve?: string };
  let k: KeyObject;
  try {
    // node:crypto (OpenSSL) decodes the SPKI and checks the point lies on the curve.
    k = createPublicKey({ key: Buffer.from(AsnConvert.serialize(spki)), format: 'der', type: 'spki' });
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

function checkSubject(name: Name, service: string): void {
  if (name.length === 0) return;
  const only = name.length === 1 && name[0]?.length === 1 ? name[0][0] : undefined;
  if (only?.type === COMMON_NAME_OID) {
    // A value we cannot read as a string (anyValue) never equals a service name.
    const cn = only.value.anyValue ? undefined : only.value.toString();
    if (cn === service) return;
    throw new CsrError('name_mismatch', `csr subject must be empty or "CN=${service}"`);
  }
  throw new CsrError('subject', `csr subject must be empty or "CN=${service}"`);
}

function checkSan(der: ArrayBuffer, service: string, trustDomain: string): void {
  const items = parseOr(der, SubjectAlternativeName);
  const expected = spiffeIdFor(trustDomain, service);
  const first = items[0];
  const uri = first?.uniformResourceIdentifier;
  if (items.length !== 1 || uri === undefined) {
    throw new CsrError('san', `csr may carry no SAN or exactly the URI SAN ${expected}`);
  }
  if (uri !== expected) {
    throw new CsrError(
      uri.startsWith('spiffe://') ? 'name_mismatch' : 'san',
      `csr names ${uri}, but only ${expected} is allowed`,
    );
  }
}
