import { randomBytes, webcrypto } from 'node:crypto';
import { serviceSpiffeId, type TlsMaterial, x509 } from '@flotilla/kit';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type KeyPair = webcrypto.CryptoKeyPair;

interface Authority {
  cert: x509.X509Certificate;
  keys: KeyPair;
}

/**
 * A throw-away certificate authority for tests of the kit's mTLS: a root, an
 * intermediate, and leaves with SPIFFE IDs. Keys are generated at run time and live
 * only in memory. (The product CA is the control plane; this is a test fixture.)
 *
 * @example
 * const ca = await TestCa.create();
 * const identity = new ManualIdentity(ca.trustDomain, await ca.issue('metadata', { ttlSeconds: 60 }));
 */
export class TestCa {
  private constructor(
    readonly trustDomain: string,
    private root: Authority,
    private intermediate: Authority,
    private readonly extraRoots: x509.X509Certificate[] = [],
  ) {}

  static async create(opts: { trustDomain?: string; name?: string } = {}): Promise<TestCa> {
    const name = opts.name ?? 'Test';
    const root = await selfSigned(`CN=${name} Root CA`);
    const intermediate = await subordinate(root, `CN=${name} Intermediate CA`);
    return new TestCa(opts.trustDomain ?? 'flotilla.local', root, intermediate);
  }

  /** PEM of the roots to trust. */
  get bundle(): string {
    return [this.root.cert, ...this.extraRoots].map((c) => c.toString('pem')).join('\n') + '\n';
  }

  /** Replaces the intermediate; leaves issued later chain to the new one. */
  async rotateIntermediate(): Promise<void> {
    this.intermediate = await subordinate(
      this.root,
      `CN=Test Intermediate CA ${randomBytes(2).toString('hex')}`,
    );
  }

  /** Replaces the root (and intermediate); the old root stays in the bundle for the overlap. */
  async rotateRoot(): Promise<void> {
    this.extraRoots.push(this.root.cert);
    this.root = await selfSigned(`CN=Test Root CA ${randomBytes(2).toString('hex')}`);
    this.intermediate = await subordinate(this.root, 'CN=Test Intermediate CA');
  }

  /** Ends the overlap: only the current root stays trusted. */
  retireOldRoots(): void {
    this.extraRoots.length = 0;
  }

  /** A leaf for `service` with its key, as the kit uses it. */
  async issue(service: string, opts: { ttlSeconds?: number; spiffeId?: string } = {}): Promise<TlsMaterial> {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const spiffeId = opts.spiffeId ?? serviceSpiffeId(this.trustDomain, service);
    const notBefore = new Date(Date.now() - 60_000);
    const notAfter = new Date(Date.now() + (opts.ttlSeconds ?? 3600) * 1000);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      subject: `CN=${service}`,
      issuer: this.intermediate.cert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.intermediate.keys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: spiffeId },
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return {
      key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
      cert: `${cert.toString('pem')}\n${this.intermediate.cert.toString('pem')}\n`,
      ca: this.bundle,
      spiffeId,
      serial: cert.serialNumber,
      notBefore,
      notAfter,
    };
  }
}

async function selfSigned(name: string): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + randomBytes(8).toString('hex'),
    name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function subordinate(parent: Authority, name: string): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01' + randomBytes(8).toString('hex'),
    subject: name,
    issuer: parent.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent.keys.publicKey),
    ],
  });
  return { cert, keys };
}
