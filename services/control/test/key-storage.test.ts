import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { x509 } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KekError, openKey } from '../src/ca/key-encryption.js';
import { startControl } from '../src/index.js';
import { startTestControl, type TestControl } from './helpers.js';

interface KeyRow {
  id: string;
  kind: string;
  cert_pem: string;
  key_iv: string;
  key_tag: string;
  key_ct: string;
}

// CA keys at rest: AES-256-GCM under a KEK kept outside the data directory.
describe('CA keys at rest', () => {
  let control: TestControl;
  let rows: KeyRow[];

  beforeAll(async () => {
    control = await startTestControl({}, { persistent: true });
    rows = (await control.service.ctx.db.query<KeyRow>('SELECT * FROM ca_authorities ORDER BY created_at'))
      .rows;
    await control.stop();
  });
  afterAll(() => control?.cleanup());

  it('stores no PEM or PKCS#8 private key in the database', () => {
    expect(rows.map((r) => r.kind).sort()).toEqual(['intermediate', 'root']);
    for (const row of rows) {
      const text = JSON.stringify(row);
      expect(text).not.toContain('PRIVATE KEY');
      const ct = Buffer.from(row.key_ct, 'base64');
      expect(() => createPrivateKey({ key: ct, format: 'der', type: 'pkcs8' })).toThrow();
      expect(Buffer.from(row.key_iv, 'base64')).toHaveLength(12);
      expect(Buffer.from(row.key_tag, 'base64')).toHaveLength(16);
    }
  });

  it('keeps the KEK in a 0600 file outside the data directory, and decrypts only with it', async () => {
    const kekFile = joinPath(control.home, 'secrets', 'ca-kek');
    expect((await stat(kekFile)).mode & 0o777).toBe(0o600);
    expect((await stat(joinPath(control.home, 'secrets', 'admin-token'))).mode & 0o777).toBe(0o600);
    expect((await stat(joinPath(control.home, 'data', 'control'))).isDirectory()).toBe(true);
    const kek = Buffer.from((await readFile(kekFile, 'utf8')).trim(), 'base64');
    expect(kek).toHaveLength(32);

    for (const row of rows) {
      const sealed = { iv: row.key_iv, tag: row.key_tag, ct: row.key_ct };
      const key = createPrivateKey({ key: openKey(kek, row.id, sealed), format: 'der', type: 'pkcs8' });
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      // The decrypted key is the one the CA certificate certifies.
      const cert = new x509.X509Certificate(row.cert_pem);
      const spki = Buffer.from(cert.publicKey.rawData);
      const fromKey = (await import('node:crypto'))
        .createPublicKey(key)
        .export({ format: 'der', type: 'spki' });
      expect(Buffer.from(fromKey)).toEqual(spki);
      // Wrong KEK, or a key sealed for another CA (AAD names the purpose): refused.
      expect(() => openKey(randomBytes(32), row.id, sealed)).toThrow(KekError);
      expect(() => openKey(kek, 'root-000000000000', sealed)).toThrow(KekError);
    }
  });

  it('comes back with the same CA on restart, and refuses to start with a wrong KEK', async () => {
    const again = await startControl({ env: { FLOTILLA_HOME: control.home, LOG_LEVEL: 'silent' } });
    const roots = again.bundle().roots;
    await again.stop();
    expect(roots).toEqual(rows.filter((r) => r.kind === 'root').map((r) => r.cert_pem));

    await expect(
      startControl({
        env: {
          FLOTILLA_HOME: control.home,
          LOG_LEVEL: 'silent',
          FLOTILLA_CA_KEK: randomBytes(32).toString('base64'),
        },
      }),
    ).rejects.toThrow(/wrong key-encryption key/);
    await expect(
      startControl({
        env: { FLOTILLA_HOME: control.home, LOG_LEVEL: 'silent', FLOTILLA_CA_KEK: 'c2hvcnQ=' },
      }),
    ).rejects.toThrow(/FLOTILLA_CA_KEK must be the base64 of exactly 32 bytes/);
  });

  it('uses FLOTILLA_CA_KEK when given, writing no key file', async () => {
    const kek = randomBytes(32).toString('base64');
    const other = await startTestControl({
      FLOTILLA_CA_KEK: kek,
      FLOTILLA_ADMIN_TOKEN: 'an-admin-token-from-env',
    });
    try {
      await expect(stat(joinPath(other.home, 'secrets', 'ca-kek'))).rejects.toThrow();
      expect(other.adminToken).toBe('an-admin-token-from-env');
      const { rows: sealed } = await other.service.ctx.db.query<KeyRow>('SELECT * FROM ca_authorities');
      for (const row of sealed) {
        expect(() =>
          openKey(Buffer.from(kek, 'base64'), row.id, { iv: row.key_iv, tag: row.key_tag, ct: row.key_ct }),
        ).not.toThrow();
      }
    } finally {
      await other.cleanup();
    }
  });
});
