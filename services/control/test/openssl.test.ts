import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, join, openssl, startTestControl, type TestControl, writeFiles } from './helpers.js';

// Interoperability with the reference implementation: openssl verify, crl and ocsp.
describe('CA interoperability with openssl', () => {
  let control: TestControl;
  let dir: string;
  let leaf: Awaited<ReturnType<typeof join>>;

  beforeAll(async () => {
    control = await startTestControl();
    dir = await mkdtemp(joinPath(tmpdir(), 'flotilla-openssl-'));
    leaf = await join(control, 'videos');
    await writeFiles(dir, {
      'root.pem': control.bundle().roots.join(''),
      'intermediate.pem': leaf.chain.join(''),
      'leaf.pem': leaf.certificate,
    });
  });
  afterAll(async () => {
    await control?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('openssl verify accepts the issued chain against the bundle', async () => {
    const res = await openssl(
      [
        'verify',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'intermediate.pem',
        '-purpose',
        'sslclient',
        'leaf.pem',
      ],
      dir,
    );
    expect(res.out).toContain('leaf.pem: OK');
    expect(res.code).toBe(0);
    const server = await openssl(
      [
        'verify',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'intermediate.pem',
        '-purpose',
        'sslserver',
        'leaf.pem',
      ],
      dir,
    );
    expect(server.code).toBe(0);
  });

  it('writes the SPIFFE id, EKUs, CRL distribution point and OCSP URL into the leaf', async () => {
    const { out } = await openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir);
    expect(out).toContain('URI:spiffe://flotilla.local/svc/videos');
    expect(out).toContain('DNS:localhost');
    expect(out).toContain('IP Address:127.0.0.1');
    expect(out).toContain('TLS Web Server Authentication, TLS Web Client Authentication');
    expect(out).toContain('CA:FALSE');
    expect(out).toMatch(/Digital Signature/);
    expect(out).toContain(`URI:${control.publicUrl}/crl/`);
    expect(out).toContain(`OCSP - URI:${control.publicUrl}/ocsp`);
    expect(out).toContain('ASN1 OID: prime256v1');
    expect(leaf.serial).toMatch(/^[0-9a-f]{31,32}$/);
  });

  it('serves the CRL as DER and as PEM labelled X509 CRL, and lists a revoked serial', async () => {
    const victim = await join(control, 'videos');
    const revoke = await call(
      control,
      'POST',
      '/v1/revocations',
      { serial: victim.serial },
      { admin: control.adminToken },
    );
    expect(revoke).toMatchObject({ status: 200, body: { revoked: [victim.serial] } });

    const crlUrl = /URI:(http:\/\/\S+\.crl)/.exec(
      (await openssl(['x509', '-in', 'leaf.pem', '-noout', '-ext', 'crlDistributionPoints'], dir)).out,
    )?.[1];
    expect(crlUrl).toBeDefined();
    const der = await fetch(crlUrl!);
    expect(der.headers.get('content-type')).toBe('application/pkix-crl');
    await writeFile(joinPath(dir, 'crl.der'), Buffer.from(await der.arrayBuffer()));
    const parsed = await openssl(['crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-text'], dir);
    expect(parsed.code).toBe(0);
    expect(parsed.out.toLowerCase()).toContain(victim.serial);
    expect(parsed.out).toContain('X509v3 CRL Number');
    expect(parsed.out).toContain('Next Update');

    const pem = await (await fetch(crlUrl!.replace(/\.crl$/, '.pem'))).text();
    expect(pem.startsWith('-----BEGIN X509 CRL-----')).toBe(true);
    await writeFile(joinPath(dir, 'crl.pem'), pem);
    const check = await openssl(
      ['crl', '-in', 'crl.pem', '-CAfile', 'intermediate.pem', '-noout', '-text'],
      dir,
    );
    expect(check.out).toContain('verify OK');
    expect(check.out.toLowerCase()).toContain(victim.serial);

    // The API hands the kit every current issuer's CRL in one call.
    const crls = (await call(control, 'GET', '/v1/crls')).body.crls as string[];
    expect(crls).toHaveLength(2);
    expect(crls.every((c) => c.startsWith('-----BEGIN X509 CRL-----'))).toBe(true);

    // openssl verify with CRL checking refuses the revoked certificate.
    await writeFiles(dir, { 'victim.pem': victim.certificate, 'crls.pem': crls.join('') });
    const refused = await openssl(
      [
        'verify',
        '-crl_check',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'intermediate.pem',
        '-CRLfile',
        'crls.pem',
        'victim.pem',
      ],
      dir,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('certificate revoked');
  });

  it('answers OCSP good, then revoked after revocation (POST, via openssl ocsp)', async () => {
    const subject = await join(control, 'history');
    await writeFiles(dir, { 'subject.pem': subject.certificate });
    const ask = () =>
      openssl(
        [
          'ocsp',
          '-issuer',
          'intermediate.pem',
          '-cert',
          'subject.pem',
          '-url',
          `${control.publicUrl}/ocsp`,
          '-CAfile',
          'root.pem',
          '-resp_text',
        ],
        dir,
      );
    const good = await ask();
    expect(good.out).toContain('Response verify OK');
    expect(good.out).toContain('subject.pem: good');
    expect(good.out).toContain('Next Update');
    expect(good.out).not.toContain('WARNING: no nonce');

    await call(
      control,
      'POST',
      '/v1/revocations',
      { serial: subject.serial, reason: 'keyCompromise' },
      { admin: control.adminToken },
    );
    const revoked = await ask();
    expect(revoked.out).toContain('Response verify OK');
    expect(revoked.out).toContain('subject.pem: revoked');
    expect(revoked.out).toContain('Reason: keyCompromise');
  });

  it('answers OCSP over GET (RFC 6960 §A.1) with a response openssl verifies', async () => {
    const subject = await join(control, 'likes');
    await writeFiles(dir, { 'likes.pem': subject.certificate });
    const req = await openssl(
      ['ocsp', '-issuer', 'intermediate.pem', '-cert', 'likes.pem', '-no_nonce', '-reqout', 'req.der'],
      dir,
    );
    expect(req.code).toBe(0);
    const b64 = (await readFile(joinPath(dir, 'req.der'))).toString('base64');
    const res = await fetch(`${control.publicUrl}/ocsp/${encodeURIComponent(b64)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    await writeFile(joinPath(dir, 'resp.der'), Buffer.from(await res.arrayBuffer()));
    const parsed = await openssl(
      [
        'ocsp',
        '-respin',
        'resp.der',
        '-issuer',
        'intermediate.pem',
        '-cert',
        'likes.pem',
        '-CAfile',
        'root.pem',
        '-resp_text',
      ],
      dir,
    );
    expect(parsed.out).toContain('Response verify OK');
    expect(parsed.out).toContain('likes.pem: good');
  });

  it('answers unknown for a serial it never issued, and malformedRequest for junk', async () => {
    // Our issuer, a serial we never issued.
    const unknown = await openssl(
      [
        'ocsp',
        '-issuer',
        'intermediate.pem',
        '-serial',
        '0x1234',
        '-url',
        `${control.publicUrl}/ocsp`,
        '-CAfile',
        'root.pem',
      ],
      dir,
    );
    expect(unknown.out).toContain('0x1234: unknown');

    const junk = await fetch(`${control.publicUrl}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: new Uint8Array([1, 2, 3]),
    });
    await writeFile(joinPath(dir, 'junk.der'), Buffer.from(await junk.arrayBuffer()));
    const parsed = await openssl(['ocsp', '-respin', 'junk.der', '-resp_text', '-noverify'], dir);
    expect(parsed.out).toContain('malformedrequest');
  });
});
