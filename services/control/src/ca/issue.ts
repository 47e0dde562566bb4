import { createHash, KeyObject, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Certificate,
  Extension,
  Extensions,
  id_ce_subjectKeyIdentifier,
  Name,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { type CryptoKey, subtle, x509 } from '../x509.js';
import type { Authority } from './authority.js';
import { BACKDATE_MS } from './ca-certs.js';
import { spiffeIdFor } from './names.js';
import { normaliseSerial, randomSerial } from './serial.js';

export interface LeafRequest {
  /** The key to certify: SPKI DER, a parsed public key, or a WebCrypto key. */
  publicKey: x509.PublicKey | CryptoKey | ArrayBuffer;
  service: string;
  trustDomain: string;
  issuer: Authority;
  ttlSeconds: number;
  /** Base URL of the public listener (CRL and OCSP). */
  publicUrl: string;
  now?: Date;
}

export interface IssuedLeaf {
  der: Buffer;
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

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** What is the same for every leaf of one issuer: parsed once, reused (signing is hot). */
interface IssuerTemplate {
  name: Name;
  key: KeyObject;
  extensions: Extension[];
}

const templates = new WeakMap<Authority, Map<string, IssuerTemplate>>();
const perService = new Map<string, { subject: Name; san: Extension }>();

function toAsn(ext: x509.Extension): Extension {
  return AsnConvert.parse(ext.rawData, Extension);
}

function issuerTemplate(issuer: Authority, publicUrl: string): IssuerTemplate {
  let byUrl = templates.get(issuer);
  if (!byUrl) {
    byUrl = new Map();
    templates.set(issuer, byUrl);
  }
  let template = byUrl.get(publicUrl);
  if (!template) {
    template = {
      name: AsnConvert.parse(issuer.cert.subjectName.toArrayBuffer(), Name),
      key: KeyObject.from(issuer.key),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
        new x509.CRLDistributionPointsExtension([crlUrl(publicUrl, issuer.id)]),
        new x509.AuthorityInfoAccessExtension({
          ocsp: ocspUrl(publicUrl),
          caIssuers: caIssuerUrl(publicUrl, issuer.id),
        }),
      ].map(toAsn),
    };
    byUrl.set(publicUrl, template);
  }
  return template;
}

function serviceParts(trustDomain: string, service: string): { subject: Name; san: Extension } {
  const key = `${trustDomain}/${service}`;
  let parts = perService.get(key);
  if (!parts) {
    parts = {
      subject: AsnConvert.parse(new x509.Name(`CN=${service}`).toArrayBuffer(), Name),
      // X.509-SVID §2: the one URI SAN is the SPIFFE id; DNS localhost and IP 127.0.0.1
      // are added so local HTTPS verifies by host name too.
      san: toAsn(
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: spiffeIdFor(trustDomain, service) },
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ),
    };
    if (perService.size > 10_000) perService.clear();
    perService.set(key, parts);
  }
  return parts;
}

async function spkiOf(key: LeafRequest['publicKey']): Promise<ArrayBuffer> {
  if (key instanceof ArrayBuffer) return key;
  if (key instanceof x509.PublicKey) return key.rawData;
  return subtle.exportKey('spki', key);
}

/**
 * Signs a workload certificate (an X.509-SVID) for `service`. The TBSCertificate is built
 * with @peculiar/asn1-x509 and signed with node:crypto; the extensions that are the same
 * for every leaf of an issuer are encoded once.
 */
export async function signLeaf(req: LeafRequest): Promise<IssuedLeaf> {
  const now = req.now ?? new Date();
  const template = issuerTemplate(req.issuer, req.publicUrl);
  const { subject, san } = serviceParts(req.trustDomain, req.service);
  const spki = AsnConvert.parse(await spkiOf(req.publicKey), SubjectPublicKeyInfo);
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
  const keyId = createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
  const ski = new Extension({
    extnID: id_ce_subjectKeyIdentifier,
    critical: false,
    extnValue: new OctetString(AsnConvert.serialize(new SubjectKeyIdentifier(keyId))),
  });
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  // A leaf never outlives its issuer (RFC 5280 §6.1.3 would reject the chain after that).
  const notAfter = new Date(Math.min(now.getTime() + req.ttlSeconds * 1000, req.issuer.notAfter.getTime()));
  const serial = randomSerial();
  const algorithm = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(Buffer.from(serial, 'hex')).buffer,
    signature: algorithm,
    issuer: template.name,
    validity: new Validity({ notBefore, notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([...template.extensions, san, ski]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign('sha256', tbsDer, { key: template.key, dsaEncoding: 'der' });
  const der = Buffer.from(
    AsnConvert.serialize(
      new Certificate({
        tbsCertificate: tbs,
        signatureAlgorithm: algorithm,
        signatureValue: new Uint8Array(signature).buffer,
      }),
    ),
  );
  return {
    der,
    pem: `${x509.PemConverter.encode(der, 'CERTIFICATE').trim()}\n`,
    serial: normaliseSerial(serial),
    issuerId: req.issuer.id,
    spiffeId: spiffeIdFor(req.trustDomain, req.service),
    notBefore,
    notAfter,
  };
}
