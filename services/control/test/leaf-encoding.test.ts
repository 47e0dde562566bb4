import { createPublicKey, ECDH, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { x509 } from '@flotilla/kit';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Attribute,
  Certificate,
  Extension,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../src/ca/authority.js';
import { createIntermediate, createRoot, keyIdOf } from '../src/ca/ca-certs.js';
import { checkCsr, CsrError, parseCsr } from '../src/ca/csr-check.js';
import { signLeafSync } from '../src/ca/issue.js';
import { EncodedExtension, EncodedName, frozenBlock } from '../src/ca/pre-encoded.js';

// The fast signing path (one CSR parse, pre-encoded issuer parts, one TBS encoding) must
// produce exactly what the plain schema encoding produces, and refuse what it refused.

const DOMAIN = 'flotilla.local';
const SPIFFE = `spiffe://${DOMAIN}/svc/videos`;

async function makeIssuer(): Promise<Authority> {
  const now = new Date();
  const root = await createRoot(DOMAIN, now);
  const rootCa = {
    cert: root.cert,
    key: root.keys.privateKey,
    keyId: keyIdOf(root.cert),
    notAfter: root.cert.notAfter,
  };
  const int = await createIntermediate(rootCa, DOMAIN, now);
  return {
    id: int.id,
    kind: 'intermediate',
    parentId: root.id,
    cert: int.cert,
    pem: int.cert.toString('pem'),
    key: int.keys.privateKey,
    signingKey: KeyObject.from(int.keys.privateKey),
    keyId: keyIdOf(int.cert),
    notAfter: int.cert.notAfter,
    createdAt: now,
    activatesAt: now,
    retiredAt: null,
  };
}

/** A CSR built field by field, so tests can make the odd ones no generator makes. */
function buildCsr(opts: {
  privateKey: KeyObject;
  spki: SubjectPublicKeyInfo;
  subject?: Name;
  extensions?: Extension[];
}): string {
  const info = new CertificationRequestInfo({
    subject: opts.subject ?? new Name(),
    subjectPKInfo: opts.spki,
  });
  if (opts.extensions) {
    info.attributes.push(
      new Attribute({
        type: '1.2.840.113549.1.9.14',
        values: [AsnConvert.serialize(new Extensions(opts.extensions))],
      }),
    );
  }
  const signed = Buffer.from(AsnConvert.serialize(info));
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' }),
    signature: new Uint8Array(sign('sha256', signed, { key: opts.privateKey, dsaEncoding: 'der' })).buffer,
  });
  return x509.PemConverter.encode(AsnConvert.serialize(csr), 'CERTIFICATE REQUEST');
}

function p256(): { privateKey: KeyObject; spki: SubjectPublicKeyInfo } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, spki: AsnConvert.parse(der, SubjectPublicKeyInfo) };
}

function sanExtension(uri: string): Extension {
  return AsnConvert.parse(
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }]).rawData,
    Extension,
  );
}

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CsrError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('leaf encoding', () => {
  let issuer: Authority;
  beforeAll(async () => {
    issuer = await makeIssuer();
  });

  it('frozen blocks write the same bytes as the blocks they freeze', () => {
    const name = new x509.Name('CN=videos, O=Flotilla').toArrayBuffer();
    const parsedName = AsnConvert.parse(name, Name);
    const ext = sanExtension(SPIFFE);
    for (const value of [parsedName, ext]) {
      const block = AsnSerializer.toASN(value);
      expect(Buffer.from(frozenBlock(block).toBER(false))).toEqual(Buffer.from(block.toBER(false)));
    }
    expect(Buffer.from(AsnConvert.serialize(new EncodedName(parsedName)))).toEqual(Buffer.from(name));
    expect(Buffer.from(AsnConvert.serialize(new EncodedExtension(ext)))).toEqual(
      Buffer.from(AsnConvert.serialize(ext)),
    );
  });

  it('signs a certificate that parses, re-encodes identically and verifies under the issuer', async () => {
    const key = p256();
    const csr = checkCsr(
      parseCsr(buildCsr({ ...key, extensions: [sanExtension(SPIFFE)] })),
      'videos',
      DOMAIN,
    );
    const now = new Date();
    const leaf = signLeafSync(
      {
        publicKey: csr.spki,
        service: 'videos',
        trustDomain: DOMAIN,
        issuer,
        ttlSeconds: 3600,
        publicUrl: 'http://127.0.0.1:1',
        now,
      },
      csr.spki,
    );
    // DER is canonical: parsing and encoding again with the plain schema gives the same bytes.
    const parsed = AsnConvert.parse(leaf.der, Certificate);
    expect(Buffer.from(AsnConvert.serialize(parsed))).toEqual(leaf.der);
    const cert = new x509.X509Certificate(leaf.pem);
    expect(await cert.verify({ publicKey: issuer.cert.publicKey, signatureOnly: true })).toBe(true);
    expect(cert.subject).toBe('CN=videos');
    expect(cert.issuer).toBe(issuer.cert.subject);
    expect(cert.serialNumber.replace(/^0+/, '')).toBe(leaf.serial);
    expect(Buffer.from(cert.publicKey.rawData)).toEqual(Buffer.from(AsnConvert.serialize(csr.spki)));
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.items.map((n) => n.value)).toEqual([SPIFFE, 'localhost', '127.0.0.1']);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(issuer.keyId);
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)).toBeDefined();
    expect(cert.getExtension(x509.CRLDistributionPointsExtension)).toBeDefined();
  });
});

describe('CSR checks on the one-parse path', () => {
  it('accepts a P-256 key sent as a compressed point, and certifies it as sent', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const uncompressed = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x ?? '', 'base64url'),
      Buffer.from(jwk.y ?? '', 'base64url'),
    ]);
    const compressed = ECDH.convertKey(uncompressed, 'prime256v1', undefined, undefined, 'compressed');
    const spki = AsnConvert.parse(publicKey.export({ format: 'der', type: 'spki' }), SubjectPublicKeyInfo);
    spki.subjectPublicKey = new Uint8Array(compressed as Buffer).buffer;
    const checked = checkCsr(parseCsr(buildCsr({ privateKey, spki })), 'videos', DOMAIN);
    expect(Buffer.from(checked.spki.subjectPublicKey)).toEqual(compressed);
  });

  it('refuses a point that is not on the curve', () => {
    const key = p256();
    const point = Buffer.from(key.spki.subjectPublicKey);
    point[64] = (point[64] ?? 0) ^ 0x01;
    key.spki.subjectPublicKey = new Uint8Array(point).buffer;
    expect(() =>
      createPublicKey({ key: Buffer.from(AsnConvert.serialize(key.spki)), format: 'der', type: 'spki' }),
    ).toThrow();
    expect(refusal(() => checkCsr(parseCsr(buildCsr(key)), 'videos', DOMAIN))).toBe('key_type');
  });

  it('refuses a CN that is not a string it can compare', () => {
    const key = p256();
    const subject = AsnConvert.parse(new x509.Name('CN=videos').toArrayBuffer(), Name);
    const cn = subject[0]?.[0];
    if (!cn) throw new Error('no CN');
    cn.value.utf8String = undefined;
    cn.value.printableString = undefined;
    cn.value.anyValue = new Uint8Array([0x04, 0x02, 0xab, 0xcd]).buffer;
    expect(refusal(() => checkCsr(parseCsr(buildCsr({ ...key, subject })), 'videos', DOMAIN))).toBe(
      'name_mismatch',
    );
  });

  it('refuses an extension it cannot parse as a bad request, not a server error', () => {
    const key = p256();
    const broken = new Extension({
      extnID: '2.5.29.17',
      critical: false,
      extnValue: new OctetString([0x30, 0x05]),
    });
    expect(
      refusal(() => checkCsr(parseCsr(buildCsr({ ...key, extensions: [broken] })), 'videos', DOMAIN)),
    ).toBe('malformed');
  });

  it('accepts an empty subject and no extensions', () => {
    const key = p256();
    expect(refusal(() => checkCsr(parseCsr(buildCsr(key)), 'videos', DOMAIN))).toBeUndefined();
  });
});
