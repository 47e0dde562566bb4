import { randomBytes } from 'node:crypto';
// The errors entry alone: this file runs in the signing workers too, which must not load the whole kit.
import { FlotillaError } from '@flotilla/errors';
import { type CryptoKey, type CryptoKeyPair, EC_P256, SIGNING, subtle, x509 } from '../x509.js';
import type { AuthorityKind } from './authority.js';
import { randomSerial } from './serial.js';

const DAY_MS = 24 * 3600 * 1000;
export const ROOT_LIFETIME_MS = 10 * 365 * DAY_MS;
export const INTERMEDIATE_LIFETIME_MS = 365 * DAY_MS;
// Certificates are backdated a little so that a peer whose clock is behind accepts them.
export const BACKDATE_MS = 60 * 1000;

export interface NewCa {
  id: string;
  kind: AuthorityKind;
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pkcs8: Uint8Array;
}

export function newCaId(kind: AuthorityKind): string {
  return `${kind === 'root' ? 'root' : 'int'}-${randomBytes(6).toString('hex')}`;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  // Extractable only so it can be sealed under the KEK right away (ca/key-encryption.ts).
  return await subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

/** A self-signed root: CA, may sign intermediates only (pathLen 1). */
export async function createRoot(trustDomain: string, now = new Date()): Promise<NewCa> {
  const id = newCaId('root');
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: caName('Root CA', id, trustDomain),
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + ROOT_LIFETIME_MS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      // RFC 5280 §4.2.1.9 and §4.2.1.3: both critical in a CA certificate.
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    id,
    kind: 'root',
    cert,
    keys,
    pkcs8: new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** An intermediate signed by `root`: signs workload certificates only (pathLen 0). */
export async function createIntermediate(
  root: { cert: x509.X509Certificate; key: CryptoKey; keyId: string; notAfter: Date },
  trustDomain: string,
  now = new Date(),
): Promise<NewCa> {
  const id = newCaId('intermediate');
  const keys = await generateKeys();
  const notAfter = Math.min(now.getTime() + INTERMEDIATE_LIFETIME_MS, root.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: caName('Intermediate CA', id, trustDomain),
    issuer: root.cert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: root.key,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      // digitalSignature: the intermediate also signs OCSP responses for its leaves (RFC 6960 §4.2.2.2).
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(root.keyId),
    ],
  });
  return {
    id,
    kind: 'intermediate',
    cert,
    keys,
    pkcs8: new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

function caName(what: string, id: string, trustDomain: string): string {
  // The id keeps names distinct across rotations, so CRLs and chains never mix up two CAs.
  return `CN=Flotilla ${what} ${id}, O=Flotilla, OU=${trustDomain}`;
}

export function keyIdOf(cert: x509.X509Certificate): string {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski)
    throw new FlotillaError('FLT_INTERNAL', `CA certificate ${cert.subject} has no subjectKeyIdentifier`);
  return ski.keyId;
}
