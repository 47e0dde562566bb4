import { randomBytes } from 'node:crypto';
import { type Db, openDb } from '@flotilla/kit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaStore } from '../src/ca/ca-store.js';
import { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { CrlCache } from '../src/ca/crl.js';
import { createJoinToken } from '../src/ca/join-tokens.js';
import { createCaMetrics } from '../src/metrics.js';
import { migrations } from '../src/migrations.js';
import { x509 } from '../src/x509.js';
import { serviceCsr } from './helpers.js';

const url = process.env.DATABASE_URL;
if (!url)
  console.warn('control postgres.test.ts: DATABASE_URL is not set; skipping the PostgreSQL storage tests');

// The CA's storage path (sealed keys, tokens, certificates, CRL numbers) on real PostgreSQL,
// in a schema of its own per run so parallel runs never collide.
describe.skipIf(!url)('CA storage on PostgreSQL', () => {
  const schema = `control_test_${randomBytes(6).toString('hex')}`;
  let db: Db;
  let ca: CertificateAuthority;

  beforeAll(async () => {
    db = await openDb({ service: 'control', url, schema, migrations });
    const store = await CaStore.open(db, randomBytes(32), 'flotilla.local', 0);
    ca = new CertificateAuthority(db, store, new CrlCache(db, 60_000), createCaMetrics(new Registry()), {
      trustDomain: 'flotilla.local',
      ttlSeconds: 3600,
      publicUrl: 'http://127.0.0.1:9',
    });
    await ca.tick();
  });
  afterAll(async () => {
    if (!db) return;
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  });

  it('uses a join token at most once under concurrency', async () => {
    const { token } = await createJoinToken(db, 'videos', 600);
    const csrs = await Promise.all([1, 2, 3, 4, 5].map(() => serviceCsr('videos')));
    const results = await Promise.allSettled(csrs.map((c) => ca.issueWithToken(c.csrPem, token)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await ca.countCertificates()).toBe(1);
  });

  it('revokes, re-signs the CRL with a higher number, and answers status', async () => {
    const { token } = await createJoinToken(db, 'history', 600);
    const issued = await ca.issueWithToken((await serviceCsr('history')).csrPem, token);
    const issuer = ca.store.issuer();
    const before = ca.crls.get(issuer.id)!.number;
    expect(await ca.revoke({ serial: issued.serial }, 1)).toEqual([issued.serial]);
    const crl = ca.crls.get(issuer.id)!;
    expect(crl.number).toBeGreaterThan(before);
    expect(new x509.X509Crl(crl.der).findRevoked(issued.serial)).not.toBeNull();
    expect(await ca.status(issuer, issued.serial)).toMatchObject({ status: 'revoked', reason: 1 });
  });

  it('rotates and retires CAs', async () => {
    const v = ca.bundle().version;
    await ca.rotate('intermediate');
    expect(ca.bundle().intermediates).toHaveLength(2);
    expect(ca.bundle().version).toBeGreaterThan(v);
  });
});
