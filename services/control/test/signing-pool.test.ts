import { KeyObject } from 'node:crypto';
import { webcrypto } from 'node:crypto';
import { x509 } from '@flotilla/kit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../src/ca/authority.js';
import { createIntermediate, createRoot, keyIdOf } from '../src/ca/ca-certs.js';
import { CsrError } from '../src/ca/csr-check.js';
import { type SignRequest, SigningPool } from '../src/ca/signing-pool.js';

const DOMAIN = 'flotilla.local';

async function csrFor(service: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${service}`,
    keys: keys as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}

describe('signing pool', () => {
  let issuer: Authority;
  const pools: SigningPool[] = [];
  const pool = (size: number, entry?: URL) => {
    const p = entry ? new SigningPool(size, entry) : new SigningPool(size);
    pools.push(p);
    return p;
  };
  const request = (csrPem: string, service = 'videos'): SignRequest => ({
    csrPem,
    service,
    trustDomain: DOMAIN,
    ttlSeconds: 3600,
    publicUrl: 'http://127.0.0.1:1',
    now: new Date(),
    issuer,
  });

  beforeAll(async () => {
    const now = new Date();
    const root = await createRoot(DOMAIN, now);
    const rootCa = {
      cert: root.cert,
      key: root.keys.privateKey,
      keyId: keyIdOf(root.cert),
      notAfter: root.cert.notAfter,
    };
    const int = await createIntermediate(rootCa, DOMAIN, now);
    issuer = {
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
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('signs in workers a certificate that verifies under the issuer', async () => {
    const p = pool(2);
    const leaves = await Promise.all([1, 2, 3, 4].map(async () => p.sign(request(await csrFor('videos')))));
    for (const leaf of leaves) {
      const cert = new x509.X509Certificate(leaf.der);
      expect(await cert.verify({ publicKey: issuer.cert.publicKey, signatureOnly: true })).toBe(true);
      expect(leaf.issuerId).toBe(issuer.id);
      expect(leaf.notAfter).toBeInstanceOf(Date);
    }
    expect(new Set(leaves.map((l) => l.serial)).size).toBe(4);
  });

  it('refuses a bad CSR with the same CsrError as on the main thread', async () => {
    const p = pool(1);
    const err = await p.sign(request(await csrFor('billing'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsrError);
    expect((err as CsrError).reason).toBe('name_mismatch');
    await expect(p.sign(request('junk'))).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('fails the jobs of a worker that dies, and replaces it for the next job', async () => {
    const p = pool(1, new URL('./fixtures/crashing-signing-worker.ts', import.meta.url));
    const good = await csrFor('videos');
    // A first job proves the worker started; the crash then takes the job it held with it.
    await expect(p.sign(request(good))).resolves.toMatchObject({ issuerId: issuer.id });
    await expect(p.sign(request('crash'))).rejects.toThrow(/signing worker failed/);
    await expect(p.sign(request(good))).resolves.toMatchObject({ issuerId: issuer.id });
    expect(p.usable).toBe(true);
  });

  it('stops being usable when workers cannot start, so the CA signs inline', async () => {
    const p = pool(1, new URL('./fixtures/no-such-worker.ts', import.meta.url));
    const csr = await csrFor('videos');
    for (let i = 0; i < 3; i += 1)
      await expect(p.sign(request(csr))).rejects.toThrow(/signing worker failed/);
    expect(p.usable).toBe(false);
  });

  it('rejects what is in flight and anything after close', async () => {
    const p = pool(1);
    const inFlight = p.sign(request(await csrFor('videos'))).catch((e: unknown) => e);
    await p.close();
    expect(String(await inFlight)).toMatch(/closed/);
    await expect(p.sign(request('x'))).rejects.toThrow(/closed/);
    expect(p.usable).toBe(false);
  });
});
