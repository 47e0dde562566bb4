import { x509 } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditRecords,
  call,
  certificateCount,
  join,
  joinToken,
  makeCsr,
  serviceCsr,
  spiffe,
  startTestControl,
  type TestControl,
} from './helpers.js';

// Bad input gets a clear problem+json, changes nothing, and leaves an audit event.
describe('refusals', () => {
  let control: TestControl;
  let good: string;

  beforeAll(async () => {
    control = await startTestControl();
    good = (await serviceCsr('videos')).csrPem;
  });
  afterAll(() => control?.cleanup());

  async function expectRefused(
    body: unknown,
    status: number,
    reason: string,
    opts: { path?: string; raw?: string; action?: string } = {},
  ) {
    const before = await certificateCount(control);
    const auditBefore = (await auditRecords(control.home)).length;
    const res = await call(
      control,
      'POST',
      opts.path ?? '/v1/certificates',
      body,
      opts.raw ? { raw: opts.raw } : {},
    );
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:flotilla:problem:/) });
    expect(typeof res.body.detail).toBe('string');
    expect(await certificateCount(control)).toBe(before);
    const added = (await auditRecords(control.home)).slice(auditBefore);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ action: opts.action ?? 'cert.issue', reason });
    expect(['failure', 'denied']).toContain(added[0]?.outcome);
    // Never a token or key in the audit trail.
    expect(JSON.stringify(added)).not.toMatch(/PRIVATE KEY|CERTIFICATE REQUEST/);
    return res;
  }

  it('refuses a CSR that is not PEM, or PEM that is not a CSR', async () => {
    const token = await joinToken(control, 'videos');
    await expectRefused({ csr: 'hello', token }, 400, 'csr_malformed');
    await expectRefused(
      { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', token },
      400,
      'csr_malformed',
    );
  });

  it('refuses a CSR whose signature does not verify', async () => {
    const token = await joinToken(control, 'videos');
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(good).rawData);
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await expectRefused({ csr: tampered, token }, 400, 'csr_signature');
  });

  it('refuses RSA keys and curves other than P-256', async () => {
    const token = await joinToken(control, 'videos');
    const rsa = await makeCsr({ name: 'CN=videos', algorithm: 'rsa' });
    const res = await expectRefused({ csr: rsa.csrPem, token }, 400, 'csr_key_type');
    expect(res.body.detail).toContain('EC P-256');
    const p384 = await makeCsr({ name: 'CN=videos', algorithm: 'p384' });
    await expectRefused({ csr: p384.csrPem, token }, 400, 'csr_key_type');
  });

  it('refuses a CSR for another name than the token allows', async () => {
    const token = await joinToken(control, 'videos');
    const other = await serviceCsr('billing');
    const res = await expectRefused({ csr: other.csrPem, token }, 403, 'csr_name_mismatch');
    expect(res.body.detail).toContain('spiffe://flotilla.local/svc/billing');
    const cnOnly = await makeCsr({ name: 'CN=billing' });
    await expectRefused({ csr: cnOnly.csrPem, token }, 403, 'csr_name_mismatch');
    const foreignDomain = await makeCsr({
      sans: [{ type: 'url', value: 'spiffe://evil.example/svc/videos' }],
    });
    await expectRefused({ csr: foreignDomain.csrPem, token }, 403, 'csr_name_mismatch');
  });

  it('refuses extra or odd SANs and odd subjects', async () => {
    const token = await joinToken(control, 'videos');
    const cases = [
      [
        { type: 'url', value: spiffe('videos') },
        { type: 'dns', value: 'videos.example' },
      ],
      [{ type: 'ip', value: '10.0.0.1' }],
      [{ type: 'email', value: 'a@example.com' }],
      [{ type: 'url', value: 'https://videos.example/' }],
      [
        { type: 'url', value: spiffe('videos') },
        { type: 'url', value: spiffe('videos') },
      ],
    ] as x509.JsonGeneralName[][];
    for (const sans of cases) {
      const csr = await makeCsr({ name: 'CN=videos', sans });
      await expectRefused({ csr: csr.csrPem, token }, 400, 'csr_san');
    }
    const subject = await makeCsr({
      name: 'CN=videos, O=Evil Corp',
      sans: [{ type: 'url', value: spiffe('videos') }],
    });
    await expectRefused({ csr: subject.csrPem, token }, 400, 'csr_subject');
  });

  it('refuses a CSR that asks to be a CA', async () => {
    const token = await joinToken(control, 'videos');
    const { webcrypto } = await import('node:crypto');
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=videos',
      keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    await expectRefused({ csr: csr.toString('pem'), token }, 400, 'csr_extension');
  });

  it('refuses unknown, malformed, reused and expired join tokens', async () => {
    await expectRefused({ csr: good, token: 'A'.repeat(43) }, 401, 'token_unknown');
    await expectRefused({ csr: good, token: 'not a token' }, 401, 'token_malformed');

    const token = await joinToken(control, 'videos');
    // A refused CSR does not use up the token ...
    await expectRefused({ csr: 'junk', token }, 400, 'csr_malformed');
    const first = await call(control, 'POST', '/v1/certificates', { csr: good, token });
    expect(first.status).toBe(201);
    // ... but an issued certificate does.
    await expectRefused({ csr: good, token }, 401, 'token_used');

    const shortLived = await joinToken(control, 'videos', 1);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await expectRefused({ csr: good, token: shortLived }, 401, 'token_expired');
    expect(res.body.detail).toBe('join token has expired');
  });

  it('refuses malformed and invalid bodies', async () => {
    await expectRefused(undefined, 400, 'malformed_body', { raw: '{"csr":' });
    await expectRefused({ csr: good }, 400, 'invalid_body');
    await expectRefused({ csr: good, token: 'x', extra: 1 }, 400, 'invalid_body');
    await expectRefused({ csr: 42, token: 'x' }, 400, 'invalid_body');
  });

  it('issues at most one certificate for concurrent uses of one token', async () => {
    const token = await joinToken(control, 'videos');
    const csrs = await Promise.all([1, 2, 3, 4, 5].map(() => serviceCsr('videos')));
    const before = await certificateCount(control);
    const results = await Promise.all(
      csrs.map((c) => call(control, 'POST', '/v1/certificates', { csr: c.csrPem, token })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401]);
    expect(await certificateCount(control)).toBe(before + 1);
  });

  it('refuses admin routes without the admin token, and audits it', async () => {
    for (const admin of [undefined, 'wrong-token-wrong-token']) {
      const auditBefore = (await auditRecords(control.home)).length;
      const res = await call(
        control,
        'POST',
        '/v1/join-tokens',
        { service: 'videos' },
        admin ? { admin } : {},
      );
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('FLT_UNAUTHENTICATED');
      const added = (await auditRecords(control.home)).slice(auditBefore);
      expect(added).toMatchObject([{ action: 'admin.auth', outcome: 'denied' }]);
      if (admin) expect(JSON.stringify(added)).not.toContain(admin);
    }
    const revoke = await call(
      control,
      'POST',
      '/v1/revocations',
      { service: 'videos' },
      { admin: 'nope-nope-nope-nope' },
    );
    expect(revoke.status).toBe(401);
  });

  it('refuses bad join-token requests and unknown serials', async () => {
    const bad = await call(
      control,
      'POST',
      '/v1/join-tokens',
      { service: 'Not_A_Name' },
      { admin: control.adminToken },
    );
    expect(bad.status).toBe(400);
    const auditBefore = (await auditRecords(control.home)).length;
    const unknown = await call(
      control,
      'POST',
      '/v1/revocations',
      { serial: 'abcdef' },
      { admin: control.adminToken },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toContain('abcdef');
    const added = (await auditRecords(control.home)).slice(auditBefore);
    expect(added).toMatchObject([{ action: 'cert.revoke', outcome: 'failure', reason: 'unknown_serial' }]);
  });

  it('counts refusals by reason in /metrics', async () => {
    // Metrics are for the `prometheus` identity (svc-prometheus-scrape), not for anonymous callers.
    expect((await call(control, 'GET', '/metrics')).body).toMatchObject({ code: 'FLT_UNAUTHENTICATED' });
    const prometheus = await join(control, 'prometheus');
    const res = await call(control, 'GET', '/metrics', undefined, {
      cert: prometheus.certChainPem,
      key: prometheus.keyPem,
    });
    expect(res.body).toMatch(/control_csr_refused_total\{reason="csr_key_type",service="control"\} 2/);
    expect(res.body).toMatch(/control_certificates_issued_total\{service="control"\} [1-9]/);
    expect(res.body).toMatch(/control_certificate_expiry_seconds\{workload="videos",service="control"\} \d+/);
    expect(res.body).not.toMatch(/control_csr_refused_total\{reason="unknown_serial"/);
  });
});
