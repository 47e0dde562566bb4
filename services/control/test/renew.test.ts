import { webcrypto } from 'node:crypto';
import { x509 } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditRecords,
  call,
  certificateCount,
  join,
  serviceCsr,
  spiffe,
  startTestControl,
  type TestControl,
} from './helpers.js';

// Renewal is authenticated by the caller's current certificate over mTLS.
describe('renewal', () => {
  let control: TestControl;

  beforeAll(async () => {
    control = await startTestControl();
  });
  afterAll(() => control?.cleanup());

  const renew = (csr: string, cred?: { certChainPem: string; keyPem: string }) =>
    call(
      control,
      'POST',
      '/v1/certificates/renew',
      { csr },
      cred ? { cert: cred.certChainPem, key: cred.keyPem } : {},
    );

  async function expectRefused(
    res: Awaited<ReturnType<typeof renew>>,
    status: number,
    reason: string,
    before: number,
    auditBefore: number,
  ) {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.type).toMatch(/^urn:flotilla:problem:/);
    expect(await certificateCount(control)).toBe(before);
    const added = (await auditRecords(control.home)).slice(auditBefore);
    expect(added).toMatchObject([{ action: 'cert.renew', reason }]);
  }

  it('renews with the current certificate, for the same identity', async () => {
    const current = await join(control, 'history');
    const next = await serviceCsr('history');
    const res = await renew(next.csrPem, current);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.spiffeId).toBe(spiffe('history'));
    expect(res.body.serial).not.toBe(current.serial);
    expect(new Date(res.body.notAfter).getTime()).toBeGreaterThan(Date.now());
    const leaf = new x509.X509Certificate(res.body.certificate);
    expect(await leaf.publicKey.export()).toBeDefined();
    expect(leaf.publicKey.rawData).toEqual(new x509.Pkcs10CertificateRequest(next.csrPem).publicKey.rawData);
    const last = (await auditRecords(control.home)).at(-1);
    expect(last).toMatchObject({ action: 'cert.renew', outcome: 'success', actor: spiffe('history') });
    // The renewed certificate renews in turn.
    const again = await renew((await serviceCsr('history')).csrPem, {
      certChainPem: [res.body.certificate, ...res.body.chain].join(''),
      keyPem: next.keyPem,
    });
    expect(again.status).toBe(201);
  });

  it('refuses a CSR naming another service', async () => {
    const current = await join(control, 'history');
    const before = await certificateCount(control);
    const auditBefore = (await auditRecords(control.home)).length;
    const res = await renew((await serviceCsr('billing')).csrPem, current);
    await expectRefused(res, 403, 'csr_name_mismatch', before, auditBefore);
  });

  it('refuses a revoked certificate at the handshake as soon as the revocation is answered', async () => {
    const current = await join(control, 'history');
    const csr = (await serviceCsr('history')).csrPem;
    expect((await renew(csr, current)).status).toBe(201); // accepted until revoked
    const revoked = await call(
      control,
      'POST',
      '/v1/revocations',
      { serial: current.serial },
      { admin: control.adminToken },
    );
    expect(revoked.status).toBe(200);
    const before = await certificateCount(control);
    // Not left to the once-a-second refresh: the revoking request returned after it.
    const refused = await renew(csr, current).catch((err: Error) => err);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/socket hang up|ECONNRESET|certificate/);
    expect(await certificateCount(control)).toBe(before);
  });

  it('refuses a revoked certificate in the renewal itself too (a revocation the handshake has not heard of yet)', async () => {
    const current = await join(control, 'history');
    const peer = new x509.X509Certificate(current.certChainPem);
    await expect(control.ca.currentCertificate(peer)).resolves.toMatchObject({ serial: current.serial });
    await control.ca.revoke({ serial: current.serial }, null);
    await expect(control.ca.currentCertificate(peer)).rejects.toMatchObject({
      name: 'Refusal',
      reason: 'cert_revoked',
    });
  });

  it('refuses a caller without a certificate, and one from a foreign CA', async () => {
    const csr = (await serviceCsr('history')).csrPem;
    let before = await certificateCount(control);
    let auditBefore = (await auditRecords(control.home)).length;
    await expectRefused(await renew(csr), 401, 'no_client_cert', before, auditBefore);

    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const foreign = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=history',
      keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffe('history') }])],
    });
    const keyPem = x509.PemConverter.encode(
      await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
      'PRIVATE KEY',
    );
    before = await certificateCount(control);
    auditBefore = (await auditRecords(control.home)).length;
    const res = await renew(csr, { certChainPem: foreign.toString('pem'), keyPem });
    await expectRefused(res, 401, 'cert_untrusted', before, auditBefore);
  });

  it('revoking a service revokes all its unexpired certificates and voids its join tokens', async () => {
    const a = await join(control, 'likes');
    const b = await join(control, 'likes');
    const res = await call(
      control,
      'POST',
      '/v1/revocations',
      { service: 'likes' },
      { admin: control.adminToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.revoked).toEqual([a.serial, b.serial].sort());
    // Refused at the handshake: the control plane's own server heard of the revocation
    // before the revoking request was answered.
    const renewed = await renew((await serviceCsr('likes')).csrPem, a).catch((err: Error) => err);
    expect(renewed).toBeInstanceOf(Error);
    expect((renewed as Error).message).toMatch(/socket hang up|ECONNRESET|certificate/);
  });
});

describe('renewal with an expired certificate', () => {
  it('is refused', async () => {
    const control = await startTestControl({ FLOTILLA_CERT_TTL_SECONDS: '5' });
    try {
      const current = await join(control, 'history');
      await new Promise((r) => setTimeout(r, new Date(current.notAfter).getTime() - Date.now() + 1100));
      const before = await certificateCount(control);
      const res = await call(
        control,
        'POST',
        '/v1/certificates/renew',
        { csr: (await serviceCsr('history')).csrPem },
        { cert: current.certChainPem, key: current.keyPem },
      );
      expect(res.status).toBe(401);
      expect(res.body.detail).toContain('expired');
      // Only the control plane's own renewals may have been added meanwhile.
      const { rows } = await control.service.ctx.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM ca_certificates WHERE service = 'history'",
      );
      expect(rows[0]?.n).toBe(1);
      expect(await certificateCount(control)).toBeGreaterThanOrEqual(before);
      const last = (await auditRecords(control.home)).filter((r) => r.action === 'cert.renew').at(-1);
      expect(last).toMatchObject({ outcome: 'denied', reason: 'cert_expired' });
    } finally {
      await control.cleanup();
    }
  }, 20_000);
});
