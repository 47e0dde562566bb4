import { ControlAdminClient, ControlClient, type RegisteredInstance } from '@flotilla/kit/contracts';
import { FlotillaError, x509 } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords, makeCsr, serviceCsr, startTestControl, type TestControl } from './helpers.js';

// The control plane's API contract from the server's end: every call the operator's and
// the workload's clients make, answered as the contract says, and every refusal rebuilt
// as the FlotillaError (stable code, same status) the control plane sent.
describe('the control plane through its contract clients', () => {
  let control: TestControl;
  let admin: ControlAdminClient;
  let roots: string;

  beforeAll(async () => {
    control = await startTestControl();
    roots = control.bundle().roots.join('');
    admin = new ControlAdminClient({ url: control.url, roots, adminToken: control.adminToken });
  });
  afterAll(async () => {
    await admin?.close();
    await control?.cleanup();
  });

  it('creates join tokens, and signs a CSR with one for its service', async () => {
    const before = Date.now();
    const token = await admin.createJoinToken('videos', 120);
    const after = Date.now();
    expect(token).toMatchObject({ service: 'videos', token: expect.stringMatching(/^[\w-]{43}$/) });
    // Valid for the 120 s asked for, from when the control plane made it.
    expect(Date.parse(token.expiresAt)).toBeGreaterThanOrEqual(before + 120_000);
    expect(Date.parse(token.expiresAt)).toBeLessThanOrEqual(after + 120_000);
    const { csrPem } = await serviceCsr('videos');
    const issued = await admin.signCertificate(csrPem, token.token);
    expect(issued.spiffeId).toBe('spiffe://flotilla.local/svc/videos');
    expect(new x509.X509Certificate(issued.certificate).serialNumber.replace(/^0+/, '')).toBe(issued.serial);
  });

  it('joins through the workload client as the kit does', async () => {
    const client = new ControlClient(control.url, 'flotilla.local');
    const { csrPem } = await serviceCsr('history');
    const issued = await client.issue(roots, (await admin.createJoinToken('history')).token, csrPem);
    expect(issued.bundle).toEqual(control.bundle().roots);
  });

  it('refuses a used join token as FLT_JOIN_TOKEN_INVALID (401)', async () => {
    const { token } = await admin.createJoinToken('videos');
    await admin.signCertificate((await serviceCsr('videos')).csrPem, token);
    const refused: unknown = await admin
      .signCertificate((await serviceCsr('videos')).csrPem, token)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FlotillaError);
    expect(refused).toMatchObject({ code: 'FLT_JOIN_TOKEN_INVALID', status: 401 });
    expect((refused as FlotillaError).message).toBe(
      'control plane refused POST /v1/certificates: 401 join token has already been used',
    );
  });

  it('refuses a bad CSR as FLT_CSR_INVALID (400) and another identity as FLT_CERT_REFUSED (403)', async () => {
    const rsa = await makeCsr({ name: 'CN=videos', algorithm: 'rsa' });
    await expect(
      admin.signCertificate(rsa.csrPem, (await admin.createJoinToken('videos')).token),
    ).rejects.toMatchObject({ code: 'FLT_CSR_INVALID', status: 400 });
    const other = await serviceCsr('billing');
    await expect(
      admin.signCertificate(other.csrPem, (await admin.createJoinToken('videos')).token),
    ).rejects.toMatchObject({ code: 'FLT_CERT_REFUSED', status: 403 });
    const refusals = (await auditRecords(control.home)).filter((r) => r.action === 'cert.issue');
    expect(refusals.slice(-2)).toMatchObject([
      { outcome: 'failure', reason: 'csr_key_type' },
      { outcome: 'denied', reason: 'csr_name_mismatch' },
    ]);
  });

  it('revokes by serial and by service; an unknown serial is FLT_NOT_FOUND', async () => {
    const { csrPem } = await serviceCsr('billing');
    const issued = await admin.signCertificate(csrPem, (await admin.createJoinToken('billing')).token);
    expect(await admin.revoke({ serial: `0x${issued.serial.toUpperCase()}` })).toEqual([issued.serial]);
    expect(await admin.revoke({ service: 'billing', reason: 'keyCompromise' })).toEqual([]);
    await expect(admin.revoke({ serial: 'abcdef' })).rejects.toMatchObject({
      code: 'FLT_NOT_FOUND',
      message: expect.stringContaining('no certificate with serial abcdef'),
    });
  });

  it('publishes the bundle and CRLs, and rotates the intermediate', async () => {
    const before = await admin.bundle();
    expect(before.roots).toEqual(control.bundle().roots);
    // The policy bundle's verification keys: public parts only.
    expect(before.policyKeys?.map((k) => Object.keys(k).sort())).toEqual([
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
    ]);
    expect((await admin.crls()).every((c) => c.startsWith('-----BEGIN X509 CRL-----'))).toBe(true);
    const rotated = await admin.rotateCa('intermediate');
    expect(rotated.created).toHaveLength(1);
    expect(rotated.bundle.version).toBeGreaterThan(before.version);
  });

  it('lists the registry for the operator', async () => {
    const instances: RegisteredInstance[] = await admin.instances();
    expect(instances).toEqual([]);
  });

  it('refuses operator calls with a wrong admin token as FLT_UNAUTHENTICATED, and the client never sends it where it is not needed', async () => {
    const wrong = new ControlAdminClient({ url: control.url, roots, adminToken: 'not-the-admin-token' });
    try {
      await expect(wrong.createJoinToken('videos')).rejects.toMatchObject({
        code: 'FLT_UNAUTHENTICATED',
        status: 401,
      });
      await expect(wrong.bundle()).resolves.toMatchObject({ roots: control.bundle().roots });
    } finally {
      await wrong.close();
    }
  });

  it('refuses a control plane that is not the one of its trust domain', async () => {
    const foreign = new ControlAdminClient({ url: control.url, roots, trustDomain: 'other.example' });
    try {
      await expect(foreign.bundle()).rejects.toMatchObject({
        code: 'FLT_UNAVAILABLE',
        message: expect.stringContaining('expected spiffe://other.example/svc/control'),
      });
    } finally {
      await foreign.close();
    }
  });
});
