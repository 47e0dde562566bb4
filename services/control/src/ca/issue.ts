import { createHash, type KeyObject, sign } from 'node:crypto';
import { AsnConvert, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { BitString, Sequence } from 'asn1js';
import {
  AlgorithmIdentifier,
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
import { EncodedExtension, EncodedName, frozenBlock } from './pre-encoded.js';
import { newSerial } from './serial.js';

export interface LeafRequest {
  /** The key to certify: a parsed SPKI (from a checked CSR), SPKI DER, a parsed public key, or a WebCrypto key. */
  publicKey: SubjectPublicKeyInfo | x509.PublicKey | CryptoKey | ArrayBuffer;
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

// RFC 5758 §3.2: ecdsa-with-SHA256, with the parameters field absent.
const ALGORITHM = new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' });
const ALGORITHM_BLOCK = frozenBlock(AsnSerializer.toASN(ALGORITHM));

/** What is the same for every leaf of one issuer: encoded once, reused (signing is hot). */
interface IssuerTemplate {
  name: Name;
  key: KeyObject;
  extensions: Extension[];
}

const templates = new WeakMap<Authority, Map<string, IssuerTemplate>>();
const perService = new Map<string, { subject: Name; san: Extension }>();

function toAsn(ext: x509.Extension): Extension {
  return new EncodedExtension(AsnConvert.parse(ext.rawData, Extension));
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
      name: new EncodedName(AsnConvert.parse(issuer.cert.subjectName.toArrayBuffer(), Name)),
      key: issuer.signingKey,
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
      subject: new EncodedName(AsnConvert.parse(new x509.Name(`CN=${service}`).toArrayBuffer(), Name)),
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

function spkiOf(key: LeafRequest['publicKey']): SubjectPublicKeyInfo | Promise<SubjectPublicKeyInfo> {
  if (key instanceof SubjectPublicKeyInfo) return key;
  if (key instanceof ArrayBuffer) return AsnConvert.parse(key, SubjectPublicKeyInfo);
  if (key instanceof x509.PublicKey) return AsnConvert.parse(key.rawData, SubjectPublicKeyInfo);
  return subtle.exportKey('spki', key).then((der) => AsnConvert.parse(der, SubjectPublicKeyInfo));
}

/**
 * Signs a workload certificate (an X.509-SVID) for `service`. The TBSCertificate is built
 * with @peculiar/asn1-x509 and signed with node:crypto; the extensions that are the same
 * for every leaf of an issuer are encoded once.
 */
export async function signLeaf(req: LeafRequest): Promise<IssuedLeaf> {
  const spki = await spkiOf(req.publicKey);
  return signLeafSync(req, spki);
}

/** {@link signLeaf} for a key already parsed (the hot path: a checked CSR's key). */
export function signLeafSync(req: LeafRequest, spki: SubjectPublicKeyInfo): IssuedLeaf {
  const now = req.now ?? new Date();
  const template = issuerTemplate(req.issuer, req.publicUrl);
  const { subject, san } = serviceParts(req.trustDomain, req.service);
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
  const serial = newSerial();
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(Buffer.from(serial.der, 'hex')).buffer,
    signature: ALGORITHM,
    issuer: template.name,
    validity: new Validity({ notBefore, notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([...template.extensions, san, ski]),
  });
  // The TBSCertificate is encoded once: the same bytes are signed and go into the Certificate.
  const tbsBlock = frozenBlock(AsnSerializer.toASN(tbs));
  const signature = sign('sha256', Buffer.from(tbsBlock.toBER(false)), {
    key: template.key,
    dsaEncoding: 'der',
  });
  // RFC 5280 §4.1.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
  const der = Buffer.from(
    new Sequence({
      value: [tbsBlock, ALGORITHM_BLOCK, new BitString({ valueHex: signature })],
    }).toBER(false),
  );
  return {
    der,
    pem: `${x509.PemConverter.encode(der, 'CERTIFICATE').trim()}\n`,
    serial: serial.id,
    issuerId: req.issuer.id,
    spiffeId: spiffeIdFor(req.trustDomain, req.service),
    notBefore,
    notAfter,
  };
}
